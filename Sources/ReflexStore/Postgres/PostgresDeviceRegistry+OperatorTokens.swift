import Foundation
import Logging
import PostgresNIO
public import ReflexCore
import Synchronization

extension PostgresDeviceRegistry {
    /// See ``DeviceRegistryManagement/createOperatorToken(name:role:)``.
    /// - Throws: ``RegistryError`` `.invalidArgument` for an empty name, `.storage` for database errors.
    public func createOperatorToken(name: String, role: OperatorRole) async throws -> (OperatorToken, token: String) {
        try RegistryRecords.validateOperatorTokenName(name)
        defer { invalidateCache() }
        return try await write("create an operator token '\(name)'") { connection in
            try await insertOperatorToken(connection, name: name, role: role)
        }
    }

    /// See ``OperatorTokenVerifier/verifyOperatorToken(_:)``: hashes `token` once for its lookup
    /// key and once per candidate with that key (normally one), plus once per token made
    /// without a key until it is first used. Reads the tokens only when the registry changed.
    public func verifyOperatorToken(_ token: String) async throws -> OperatorToken? {
        guard token.hasPrefix(TokenHasher.operatorPrefix) else { return nil }
        guard let (found, lookup) = try await currentOperatorTokens().match(token, counters: counters) else {
            return nil
        }
        if found.lookup == nil {
            _ = try await changedRows(
                "store the lookup key of operator token \(found.record.id)",
                "UPDATE operator_tokens SET lookup = \(lookup) WHERE id = \(found.record.id) AND lookup IS NULL RETURNING id"
            )
        }
        return found.record
    }

    /// See ``CredentialRegistry/currentOperatorToken(id:)``.
    public func currentOperatorToken(id: Int64) async throws -> OperatorToken? {
        try await currentOperatorTokens().token(id: id)
    }

    /// See ``CredentialRegistry/changeGeneration()``: one read of the `registry_generation` row.
    public func changeGeneration() async throws -> UInt64 {
        try await observeChanges()
    }

    /// See ``CredentialRegistry/credentialState(of:)``.
    public func credentialState(of device: DeviceID) async throws -> DeviceCredentialState? {
        try await currentCredential(device).map {
            DeviceCredentialState(isEnabled: $0.device.isEnabled, tokenFingerprint: $0.fingerprint)
        }
    }

    /// See ``CredentialRegistry/allCredentialStates()``: one read of every device row (not
    /// cached: it runs only after the registry changed, for the revocation watcher).
    public func allCredentialStates() async throws -> [DeviceID: DeviceCredentialState] {
        counters.update { $0.databaseReads += 1 }
        return try await read("read every device's credential") { connection in
            var states: [DeviceID: DeviceCredentialState] = [:]
            let rows = try await connection.query(
                "SELECT id, enabled, token_salt, token_hash FROM devices",
                logger: database.logger
            ).decode((String, Bool, Data, Data).self)
            for try await (rawID, enabled, salt, hash) in rows {
                guard let id = try? DeviceID(validating: rawID) else { continue }
                states[id] = DeviceCredentialState(
                    isEnabled: enabled,
                    tokenFingerprint: TokenHasher.fingerprint(salt: Array(salt), hash: Array(hash))
                )
            }
            return states
        }
    }

    /// See ``DeviceRegistryManagement/revokeOperatorToken(id:)``: it stops working at once for
    /// new requests and connections, in every process using the database.
    /// - Throws: ``RegistryError`` `.operatorTokenNotFound`.
    public func revokeOperatorToken(id: Int64) async throws {
        let changed = try await changedRows(
            "revoke operator token \(id)",
            "UPDATE operator_tokens SET revoked = TRUE WHERE id = \(id) RETURNING id"
        )
        guard changed > 0 else {
            throw RegistryError(
                code: .operatorTokenNotFound,
                message: "no operator token with id \(id) in \(location); `reflex token list` shows the ids"
            )
        }
    }

    /// See ``DeviceRegistryManagement/operatorTokens()``.
    public func operatorTokens() async throws -> [OperatorToken] {
        try await read("list operator tokens") { connection in
            try await connection.query(
                "SELECT \(unescaped: Self.operatorTokenColumns) FROM operator_tokens ORDER BY id",
                logger: database.logger
            ).collect().map { try Self.operatorToken(from: $0).record }
        }
    }

    /// See ``DeviceRegistryManagement/ensureAdminToken()``. Atomic across processes: the
    /// transaction first locks the `registry_generation` row, so concurrent callers run one
    /// after the other and each sees what the one before committed.
    public func ensureAdminToken() async throws -> String? {
        defer { invalidateCache() }
        return try await write("create the initial admin token") { connection -> String? in
            _ = try await connection.query("SELECT value FROM registry_generation FOR UPDATE", logger: database.logger)
            let admins = try await connection.query(
                "SELECT id FROM operator_tokens WHERE role = 'admin' AND NOT revoked LIMIT 1",
                logger: database.logger
            ).collect()
            guard admins.isEmpty else { return nil }
            return try await insertOperatorToken(connection, name: OperatorToken.initialAdminName, role: .admin).token
        }
    }

    // MARK: - Internals

    static let operatorTokenColumns = "id, name, role, created_at, revoked, salt, hash, lookup"

    /// The non-revoked tokens as of now: cached until the registry changes.
    private func currentOperatorTokens() async throws -> OperatorTokenIndex {
        let generation = try await observeChanges()
        if let index = cache.withLock({ $0.operatorTokens }) { return index }
        counters.update { $0.databaseReads += 1 }
        let index = try await read("check an operator token") { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.operatorTokenColumns) FROM operator_tokens WHERE NOT revoked ORDER BY id",
                logger: database.logger
            ).collect()
            return OperatorTokenIndex(try rows.map(Self.operatorToken(from:)))
        }
        cache.withLock { $0.store(index, readAt: generation) }
        return index
    }

    private func insertOperatorToken(
        _ connection: PostgresConnection,
        name: String,
        role: OperatorRole
    ) async throws -> (OperatorToken, token: String) {
        let token = TokenHasher.makeToken(prefix: TokenHasher.operatorPrefix)
        let salt = Data(TokenHasher.makeSalt())
        let hash = Data(TokenHasher.hash(token: token, salt: Array(salt)))
        let createdAt = now()
        let lookup = TokenHasher.lookupKey(token: token)
        let rows = try await connection.query(
            """
            INSERT INTO operator_tokens (name, role, salt, hash, created_at, revoked, lookup)
            VALUES (\(name), \(role.rawValue), \(salt), \(hash), \(createdAt), FALSE, \(lookup)) RETURNING id
            """,
            logger: database.logger
        ).decode(Int64.self)
        var id: Int64?
        for try await value in rows { id = value }
        guard let id else {
            throw RegistryError(
                code: .storage,
                message: "PostgreSQL returned no id for the new operator token '\(name)'"
            )
        }
        let record = OperatorToken(
            id: id,
            name: name,
            role: role,
            createdAt: RegistryRecords.date(milliseconds: createdAt),
            isRevoked: false
        )
        return (record, token)
    }

    /// An operator token row (``operatorTokenColumns``, in order).
    private static func operatorToken(from row: PostgresRow) throws -> OperatorTokenIndex.Entry {
        let (id, name, role, createdAt, revoked, salt, hash, lookup) = try row.decode(
            (Int64, String, String, Int64, Bool, Data, Data, Int64?).self
        )
        let record = OperatorToken(
            id: id,
            name: name,
            role: try RegistryRecords.role(stored: role),
            createdAt: RegistryRecords.date(milliseconds: createdAt),
            isRevoked: revoked
        )
        return OperatorTokenIndex.Entry(record: record, salt: Array(salt), hash: Array(hash), lookup: lookup)
    }
}
