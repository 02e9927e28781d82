/// The current (non-revoked) operator tokens, indexed by ``TokenHasher/lookupKey(token:)`` so
/// that a check hashes the presented token once to find its record, then once more with the
/// record's salt to accept it.
///
/// Tokens made before the lookup key existed have none (`legacy`); they are candidates for
/// every token until they are first accepted, when the registry stores their key.
struct OperatorTokenIndex: Sendable {
    /// One stored token: its record and salted hash, never the secret.
    struct Entry: Sendable {
        var record: OperatorToken
        var salt: [UInt8]
        var hash: [UInt8]
        var lookup: Int64?
    }

    private var byLookup: [Int64: [Entry]] = [:]
    private(set) var legacy: [Entry] = []
    private var byID: [Int64: OperatorToken] = [:]

    init(_ entries: [Entry]) {
        for entry in entries {
            byID[entry.record.id] = entry.record
            if let lookup = entry.lookup {
                byLookup[lookup, default: []].append(entry)
            } else {
                legacy.append(entry)
            }
        }
    }

    /// The records whose salted hash must be compared with a token of this lookup key.
    /// - Complexity: O(1) plus the number of legacy tokens.
    func candidates(lookup: Int64) -> [Entry] {
        (byLookup[lookup] ?? []) + legacy
    }

    /// The current token with this record id, or nil if it is revoked or unknown.
    func token(id: Int64) -> OperatorToken? { byID[id] }
}
