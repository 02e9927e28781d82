import Crypto
import Foundation

/// Makes secret tokens and checks them against stored salted hashes.
///
/// A token is 32 bytes from the system's cryptographically secure generator
/// (`SystemRandomNumberGenerator`, i.e. `getrandom(2)`), base64url without padding, behind a
/// readable prefix: `rfx_dev_…` for devices, `rfx_op_…` for operators. The prefix lets people and
/// secret scanners recognise a leaked token.
///
/// Only `SHA-256(salt ‖ token)` is stored, with a 16-byte random salt per record. A slow password
/// KDF (scrypt, Argon2) is deliberately not used: it protects *low-entropy* secrets that people
/// choose, whereas these tokens carry 256 bits of randomness, so brute-forcing one from its hash
/// is infeasible even at billions of SHA-256 per second; a fast hash keeps MQTT CONNECT cheap.
/// Hashes are compared in constant time (``constantTimeEquals(_:_:)``).
package enum TokenHasher {
    /// The prefix of device tokens.
    package static let devicePrefix = "rfx_dev_"
    /// The prefix of operator tokens.
    package static let operatorPrefix = "rfx_op_"
    /// Random bytes per token.
    package static let secretByteCount = 32
    /// Random bytes per salt.
    package static let saltByteCount = 16

    /// A new token: `prefix` + base64url(32 random bytes).
    package static func makeToken(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + base64URL(randomBytes(secretByteCount, using: &generator))
    }

    /// A new random salt.
    package static func makeSalt() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return randomBytes(saltByteCount, using: &generator)
    }

    /// `SHA-256(salt ‖ token)`.
    package static func hash(token: String, salt: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: salt)
        hasher.update(data: Array(token.utf8))
        return Array(hasher.finalize())
    }

    /// Whether `token` hashes to `expectedHash` with `salt`; constant time in the hash length.
    package static func matches(token: String, salt: [UInt8], expectedHash: [UInt8]) -> Bool {
        constantTimeEquals(hash(token: token, salt: salt), expectedHash)
    }

    /// A 64-bit index key for a token: the first 8 bytes of `SHA-256("reflex-token-lookup-v1\0" ‖ token)`.
    ///
    /// Stored beside an operator token's salted hash so that a check hashes the presented token
    /// once to find its candidate record, instead of once per stored token. It is not a secret
    /// and reveals nothing useful: finding a token from 64 bits of its hash means searching
    /// 256-bit random tokens. The salted hash is still what accepts a token.
    package static func lookupKey(token: String) -> Int64 {
        var hasher = SHA256()
        hasher.update(data: Array("reflex-token-lookup-v1\u{0}".utf8))
        hasher.update(data: Array(token.utf8))
        var key: UInt64 = 0
        for byte in hasher.finalize().prefix(8) { key = key << 8 | UInt64(byte) }
        return Int64(bitPattern: key)
    }

    /// A short, non-secret name for a stored credential (salt and hash) that changes whenever
    /// the token is replaced: 16 hex digits of `SHA-256("reflex-credential-v1\0" ‖ salt ‖ hash)`.
    /// Open connections remember it, so that a rotated token can be told from the one they used.
    package static func fingerprint(salt: [UInt8], hash: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(data: Array("reflex-credential-v1\u{0}".utf8))
        hasher.update(data: salt)
        hasher.update(data: hash)
        return hasher.finalize().prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Compares two byte strings without an early exit, so the time taken does not reveal how
    /// many leading bytes match. Different lengths compare unequal (lengths are not secret).
    package static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }

    private static func randomBytes(_ count: Int, using generator: inout SystemRandomNumberGenerator) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    private static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
