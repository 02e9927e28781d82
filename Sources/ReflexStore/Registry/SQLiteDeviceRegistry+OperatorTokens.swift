import Foundation
import GRDB
public import ReflexCore
import Synchronization

extension SQLiteDeviceRegistry {
    /// The name of the admin token ``ensureAdminToken()`` creates.
    public static let initialAdminTokenName = OperatorToken.initialAdminName

    /// Creates an operator token and returns it, the only time the secret is available.
    /// - Parameters:
    ///   - name: who or what it is for; not empty.
    ///   - role: what it may do.
    /// - Throws: ``RegistryError`` `.invalidArgument` for an empty name, `.storage` for database errors.
    public func createOperatorToken(name: String, role: OperatorRole) async throws -> (OperatorToken, token: String) {
        try RegistryRecords.validateOperatorTokenName(name)
        let created = try await write("create an operator token '\(name)'") { db in
            try Self.insertOperatorToken(db, name: name, role: role)
        }
        invalidateCache()
        return created
    }

    /// See ``OperatorTokenVerifier/verifyOperatorToken(_:)``. Hashes `token` once for its
    /// lookup key and once more per candidate with that key (normally one), plus once per token
    /// made before lookup keys existed until it is first used. Reads the file only when it
    /// changed since the last check.
    public func verifyOperatorToken(_ token: String) async throws -> OperatorToken? {
        guard token.hasPrefix(TokenHasher.operatorPrefix) else { return nil }
        guard let (found, lookup) = try await currentOperatorTokens().match(token, counters: counters) else {
            return nil
        }
        if found.lookup == nil {
            try await write("store the lookup key of operator token \(found.record.id)") { db in
                try db.execute(
                    sql: "UPDATE operator_tokens SET lookup = ? WHERE id = ? AND lookup IS NULL",
                    arguments: [lookup, found.record.id]
                )
            }
            invalidateCache()
        }
        return found.record
    }

    /// See ``CredentialRegistry/currentOperatorToken(id:)``.
    public func currentOperatorToken(id: Int64) async throws -> OperatorToken? {
        try await currentOperatorTokens().token(id: id)
    }

    /// See ``CredentialRegistry/changeGeneration()``: one `PRAGMA data_version`.
    public func changeGeneration() async throws -> UInt64 {
        try observeChanges()
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
        return try await read("read every device's credential") { db in
            var states: [DeviceID: DeviceCredentialState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, enabled, token_salt, token_hash FROM devices") {
                let rawID: String = row["id"]
                guard let id = try? DeviceID(validating: rawID) else { continue }
                let salt: Data = row["token_salt"]
                let hash: Data = row["token_hash"]
                states[id] = DeviceCredentialState(
                    isEnabled: row["enabled"],
                    tokenFingerprint: TokenHasher.fingerprint(salt: Array(salt), hash: Array(hash))
                )
            }
            return states
        }
    }

    /// The non-revoked tokens as of now: cached until the file changes.
    private func currentOperatorTokens() async throws -> OperatorTokenIndex {
        let generation = try observeChanges()
        if let index = cache.withLock({ $0.operatorTokens }) { return index }
        counters.update { $0.databaseReads += 1 }
        let index = try await read("check an operator token") { db in
            let entries = try Row.fetchAll(db, sql: "SELECT * FROM operator_tokens WHERE revoked = 0 ORDER BY id").map {
                row in
                let salt: Data = row["salt"]
                let hash: Data = row["hash"]
                return OperatorTokenIndex.Entry(
                    record: try Self.operatorToken(from: row),
                    salt: Array(salt),
                    hash: Array(hash),
                    lookup: row["lookup"]
                )
            }
            return OperatorTokenIndex(entries)
        }
        cache.withLock { $0.store(index, readAt: generation) }
        return index
    }

    /// Revokes an operator token; it stops working at once for new requests and connections,
    /// here and in any other process that has the file open (open MQTT connections and event
    /// streams are closed by the node's revocation watcher). Revoking twice is not an error.
    /// - Throws: ``RegistryError`` `.operatorTokenNotFound`.
    public func revokeOperatorToken(id: Int64) async throws {
        let changed = try await write("revoke operator token \(id)") { db in
            try db.execute(sql: "UPDATE operator_tokens SET revoked = 1 WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
        invalidateCache()
        guard changed else {
            throw RegistryError(
                code: .operatorTokenNotFound,
                message: "no operator token with id \(id) in \(path); `reflex token list` shows the ids"
            )
        }
    }

    /// Every operator token record, revoked ones included, by id.
    public func operatorTokens() async throws -> [OperatorToken] {
        try await read("list operator tokens") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM operator_tokens ORDER BY id").map {
                try Self.operatorToken(from: $0)
            }
        }
    }

    /// Creates an admin token named ``initialAdminTokenName`` if no usable (non-revoked) admin
    /// token exists, and returns it so that the server can print it once at first start.
    /// Atomic: of several concurrent callers, at most one gets a token.
    /// - Returns: the new token's secret, or nil when an admin token already exists.
    public func ensureAdminToken() async throws -> String? {
        let created = try await write("create the initial admin token") { db -> String? in
            let hasAdmin =
                try Bool.fetchOne(
                    db,
                    sql: "SELECT 1 FROM operator_tokens WHERE role = 'admin' AND revoked = 0 LIMIT 1"
                ) ?? false
            if hasAdmin { return nil }
            return try Self.insertOperatorToken(db, name: Self.initialAdminTokenName, role: .admin).token
        }
        invalidateCache()
        return created
    }

    private static func insertOperatorToken(
        _ db: Database,
        name: String,
        role: OperatorRole
    ) throws -> (OperatorToken, token: String) {
        let token = TokenHasher.makeToken(prefix: TokenHasher.operatorPrefix)
        let salt = TokenHasher.makeSalt()
        let hash = TokenHasher.hash(token: token, salt: salt)
        let createdAt = now()
        try db.execute(
            sql: """
                INSERT INTO operator_tokens (name, role, salt, hash, created_at, revoked, lookup)
                VALUES (?, ?, ?, ?, ?, 0, ?)
                """,
            arguments: [
                name, role.rawValue, Data(salt), Data(hash), RegistryRecords.milliseconds(createdAt),
                TokenHasher.lookupKey(token: token),
            ]
        )
        let record = OperatorToken(
            id: db.lastInsertedRowID,
            name: name,
            role: role,
            createdAt: createdAt,
            isRevoked: false
        )
        return (record, token)
    }

    private static func operatorToken(from row: Row) throws -> OperatorToken {
        OperatorToken(
            id: row["id"],
            name: row["name"],
            role: try RegistryRecords.role(stored: row["role"]),
            createdAt: RegistryRecords.date(milliseconds: row["created_at"]),
            isRevoked: row["revoked"]
        )
    }
}
