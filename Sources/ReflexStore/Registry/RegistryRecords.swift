import Foundation
import ReflexCore

/// What every registry backend does the same way with its values: a new device's defaults and
/// validation, labels as JSON text, millisecond timestamps, stored ids and roles read back, and
/// the operator token name rule. The backends differ only in how they store the rows.
enum RegistryRecords {
    /// A new, enabled device: `name` defaults to the id and `type` to `generic`.
    /// - Throws: ``RegistryError`` `.invalidArgument` for a label with an empty key.
    static func newDevice(
        id: DeviceID,
        name: String?,
        type: String?,
        labels: [String: String],
        createdAt: Int64
    ) throws -> Device {
        if let emptyKey = labels.keys.first(where: { $0.isEmpty }) {
            throw RegistryError(
                code: .invalidArgument,
                message:
                    "device '\(id)': label '\(emptyKey)=\(labels[emptyKey] ?? "")' has an empty key; write key=value"
            )
        }
        return Device(
            id: id,
            name: name.flatMap { $0.isEmpty ? nil : $0 } ?? id.rawValue,
            type: type.flatMap { $0.isEmpty ? nil : $0 } ?? "generic",
            labels: labels,
            isEnabled: true,
            createdAt: date(milliseconds: createdAt),
            tokenRotatedAt: nil
        )
    }

    /// - Throws: ``RegistryError`` `.invalidArgument` when `name` is blank.
    static func validateOperatorTokenName(_ name: String) throws {
        guard name.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        throw RegistryError(
            code: .invalidArgument,
            message: "an operator token needs a name saying who or what it is for (--name alice)"
        )
    }

    /// A stored device id, checked again (a row edited by hand may hold anything).
    static func deviceID(stored raw: String) throws -> DeviceID {
        do {
            return try DeviceID(validating: raw)
        } catch {
            throw RegistryError(code: .storage, message: "the registry holds an invalid device id: \(error)")
        }
    }

    /// A stored operator role.
    static func role(stored text: String) throws -> OperatorRole {
        guard let role = OperatorRole(rawValue: text) else {
            throw RegistryError(
                code: .storage,
                message: "the registry holds an operator token with unknown role '\(text)'"
            )
        }
        return role
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    static func milliseconds(_ date: Date?) -> Int64? {
        date.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    /// Labels as JSON with sorted keys, as both backends store them.
    static func encodeLabels(_ labels: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(labels), as: UTF8.self)
    }

    /// Stored labels; text that is not a JSON object of strings reads as no labels.
    static func decodeLabels(_ text: String) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}

extension CachedCredential {
    /// Checks `token` against this stored credential: one salted hash, compared in constant
    /// time, counted in `counters`.
    func check(_ token: String, counters: RegistryCounters) -> DeviceCredentialCheck {
        counters.update { $0.tokenHashes += 1 }
        guard TokenHasher.matches(token: token, salt: salt, expectedHash: hash) else {
            return DeviceCredentialCheck(verification: .wrongToken, tokenFingerprint: nil)
        }
        let verification: DeviceVerification = device.isEnabled ? .accepted(device) : .disabled(device)
        return DeviceCredentialCheck(verification: verification, tokenFingerprint: fingerprint)
    }

    /// A credential from its stored row's parts.
    init(device: Device, salt: [UInt8], hash: [UInt8]) {
        self.init(device: device, salt: salt, hash: hash, fingerprint: TokenHasher.fingerprint(salt: salt, hash: hash))
    }
}

extension OperatorTokenIndex {
    /// The current token `token` is, if any: its lookup key hashed once, then one salted hash
    /// per candidate, counted in `counters`. No early exit: every candidate is hashed and
    /// compared, whichever one matches.
    /// - Returns: the matching entry and the presented token's lookup key (to store for a
    ///   legacy entry that has none).
    func match(_ token: String, counters: RegistryCounters) -> (entry: Entry, lookup: Int64)? {
        guard token.hasPrefix(TokenHasher.operatorPrefix) else { return nil }
        counters.update { $0.tokenHashes += 1 }
        let lookup = TokenHasher.lookupKey(token: token)
        var found: Entry?
        for candidate in candidates(lookup: lookup) {
            counters.update { $0.tokenHashes += 1 }
            if TokenHasher.matches(token: token, salt: candidate.salt, expectedHash: candidate.hash) {
                found = candidate
            }
        }
        return found.map { ($0, lookup) }
    }
}
