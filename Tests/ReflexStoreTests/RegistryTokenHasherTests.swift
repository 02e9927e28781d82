import Crypto
import Foundation
import ReflexStore
import Testing

@Suite struct RegistryTokenHasherTests {
    @Test(
        "constant-time comparison is plain equality on bytes",
        arguments: [
            ([], [], true),
            ([1, 2, 3], [1, 2, 3], true),
            ([1, 2, 3], [1, 2, 4], false),
            ([0, 2, 3], [1, 2, 3], false),
            ([1, 2, 3], [1, 2], false),
            ([1, 2], [1, 2, 3], false),
            ([0xFF], [0x7F], false),
        ] as [([UInt8], [UInt8], Bool)]
    )
    func constantTimeEquals(lhs: [UInt8], rhs: [UInt8], equal: Bool) {
        #expect(TokenHasher.constantTimeEquals(lhs, rhs) == equal)
    }

    @Test("the hash is SHA-256 of salt followed by the token") func hashDefinition() {
        let salt: [UInt8] = Array(0..<16)
        let expected = Array(SHA256.hash(data: salt + Array("rfx_dev_abc".utf8)))
        #expect(TokenHasher.hash(token: "rfx_dev_abc", salt: salt) == expected)
        #expect(TokenHasher.matches(token: "rfx_dev_abc", salt: salt, expectedHash: expected))
        #expect(!TokenHasher.matches(token: "rfx_dev_abd", salt: salt, expectedHash: expected))
        #expect(!TokenHasher.matches(token: "rfx_dev_abc", salt: Array(1..<17), expectedHash: expected))
    }

    @Test("tokens have the prefix, 43 base64url characters, and differ") func tokenFormat() {
        let tokens = (0..<50).map { _ in TokenHasher.makeToken(prefix: TokenHasher.devicePrefix) }
        #expect(Set(tokens).count == 50)
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for token in tokens {
            #expect(token.hasPrefix("rfx_dev_"))
            let secret = token.dropFirst("rfx_dev_".count)
            #expect(secret.count == 43)
            #expect(secret.allSatisfy { alphabet.contains($0) })
        }
        #expect(TokenHasher.makeSalt().count == 16)
        #expect(TokenHasher.makeSalt() != TokenHasher.makeSalt())
    }
}
