import Foundation
import GRDB

extension SQLiteDeviceRegistry {
    /// The name of the admin token ``ensureAdminToken()`` creates.
    public static let initialAdminTokenName = "initial-admin"

    /// Creates an operator token and returns it, the only time the secret is available.
    /// - Parameters:
    ///   - name: who or what it is for; not empty.
    ///   - role: what it may do.
    /// - Throws: ``RegistryError`` `.invalidArgument` for an empty name, `.storage` for database errors.
    public func createOperatorToken(name: String, role: OperatorRole) async throws -> (OperatorToken, token: String) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw RegistryError(
                code: .invalidArgument,
                message: "an operator token needs a name saying who or what it is for (--name alice)"
            )
        }
        let created = try await write("create an operator token '\(name)'") { db in
            try Self.insertOperatorToken(db, name: name, role: role)
        }
        return created
    }

    /// See ``OperatorTokenVerifier/verifyOperatorToken(_:)``. Reads the non-revoked tokens from
    /// the file each time (there are few, and this is not on a per-message path).
    public func verifyOperatorToken(_ token: String) async throws -> OperatorToken? {
        guard token.hasPrefix(TokenHasher.operatorPrefix) else { return nil }
        let candidates = try await read("check an operator token") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM operator_tokens WHERE revoked = 0 ORDER BY id").map { row in
                let salt: Data = row["salt"]
                let hash: Data = row["hash"]
                return (record: try Self.operatorToken(from: row), salt: Array(salt), hash: Array(hash))
            }
        }
        var found: OperatorToken?
        // No early exit: every candidate is hashed and compared, whichever one matches.
        for candidate in candidates
        where TokenHasher.matches(token: token, salt: candidate.salt, expectedHash: candidate.hash) {
            found = candidate.record
        }
        return found
    }

    /// Revokes an operator token; it stops working at once. Revoking twice is not an error.
    /// - Throws: ``RegistryError`` `.operatorTokenNotFound`.
    public func revokeOperatorToken(id: Int64) async throws {
        let changed = try await write("revoke operator token \(id)") { db in
            try db.execute(sql: "UPDATE operator_tokens SET revoked = 1 WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
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
        try await write("create the initial admin token") { db in
            let hasAdmin =
                try Bool.fetchOne(
                    db,
                    sql: "SELECT 1 FROM operator_tokens WHERE role = 'admin' AND revoked = 0 LIMIT 1"
                ) ?? false
            if hasAdmin { return nil }
            return try Self.insertOperatorToken(db, name: Self.initialAdminTokenName, role: .admin).token
        }
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
            sql: "INSERT INTO operator_tokens (name, role, salt, hash, created_at, revoked) VALUES (?, ?, ?, ?, ?, 0)",
            arguments: [name, role.rawValue, Data(salt), Data(hash), milliseconds(createdAt)]
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
        let roleText: String = row["role"]
        guard let role = OperatorRole(rawValue: roleText) else {
            throw RegistryError(
                code: .storage,
                message: "the registry holds an operator token with unknown role '\(roleText)'"
            )
        }
        return OperatorToken(
            id: row["id"],
            name: row["name"],
            role: role,
            createdAt: date(milliseconds: row["created_at"]),
            isRevoked: row["revoked"]
        )
    }
}
