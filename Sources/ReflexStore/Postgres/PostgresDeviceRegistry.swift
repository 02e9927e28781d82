import Foundation
import Logging
import PostgresNIO
public import ReflexCore
import Synchronization

/// The device registry and operator tokens in PostgreSQL (``PostgresRegistrySchema``): what
/// ``SQLiteDeviceRegistry`` is for `registry.sqlite`, with the same behaviour.
///
/// Several processes may use the database at once: `reflex serve` authenticates devices while
/// `reflex device ...` commands add, disable or rotate them. Every change is one transaction.
///
/// Credentials are cached in memory (``RegistryCache``): device rows, found and not found, and
/// the current operator tokens by lookup key. Every check first reads the one-row
/// `registry_generation` counter, which a trigger bumps in the same transaction as any change
/// to the registry's tables, and drops the caches if it moved. So a change by another process
/// (a device added, disabled or rotated, a token revoked) applies to the very next check, as on
/// SQLite, while a repeated check, or a flood of unknown ids or tokens, costs that one-row read
/// and about one SHA-256 and no device or token row read. ``changeGeneration()`` exposes the
/// same signal to the node's revocation watcher. ``counters`` shows the cost.
///
/// Secrets: see ``TokenHasher``; tokens are returned once, by the call that creates them, and
/// only their salted SHA-256 is stored. Errors (a lost connection among them) are thrown as
/// ``RegistryError`` `.storage`; a check never succeeds without having read the counter.
public final class PostgresDeviceRegistry: DeviceRegistry, OperatorTokenVerifier, CredentialRegistry,
    DeviceDirectory, DeviceRegistryManagement
{
    /// Database reads, token hashes and change checks so far.
    public let counters = RegistryCounters()

    let database: PostgresDatabase
    let clock: NodeClock
    let cache = Mutex(RegistryCache())

    /// A registry on `database`, which must hold ``PostgresRegistrySchema/migrations``.
    /// - Parameters:
    ///   - database: the node's PostgreSQL database.
    ///   - clock: stamps `created_at` and `token_rotated_at`.
    public init(database: PostgresDatabase, clock: NodeClock = .system) {
        self.database = database
        self.clock = clock
    }

    /// The database URL without its password.
    public var location: String { database.settings.description }

    // MARK: - Devices

    /// See ``DeviceRegistryManagement/addDevice(id:name:type:labels:)``.
    public func addDevice(
        id: DeviceID,
        name: String? = nil,
        type: String? = nil,
        labels: [String: String] = [:]
    ) async throws -> (Device, token: String) {
        let device = try RegistryRecords.newDevice(id: id, name: name, type: type, labels: labels, createdAt: now())
        let token = TokenHasher.makeToken(prefix: TokenHasher.devicePrefix)
        let salt = Data(TokenHasher.makeSalt())
        let hash = Data(TokenHasher.hash(token: token, salt: Array(salt)))
        let labelsJSON = try RegistryRecords.encodeLabels(labels)
        let createdAt = RegistryRecords.milliseconds(device.createdAt)
        let inserted = try await changedRows(
            "add device '\(id)'",
            """
            INSERT INTO devices (id, name, type, labels, enabled, created_at, token_salt, token_hash)
            VALUES (\(id.rawValue), \(device.name), \(device.type), \(labelsJSON), TRUE, \(createdAt), \(salt), \(hash))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """
        )
        guard inserted > 0 else {
            throw RegistryError(
                code: .deviceExists,
                message: "device '\(id)' is already registered in \(location); choose another id, "
                    + "or use `reflex device rotate-token \(id)` for a new token"
            )
        }
        return (device, token)
    }

    /// See ``DeviceDirectory/devices(type:label:)``.
    public func devices(type: String? = nil, label: (key: String, value: String)? = nil) async throws -> [Device] {
        let query: PostgresQuery =
            if let type {
                "SELECT \(unescaped: Self.deviceColumns) FROM devices WHERE type = \(type) ORDER BY id COLLATE \"C\""
            } else {
                "SELECT \(unescaped: Self.deviceColumns) FROM devices ORDER BY id COLLATE \"C\""
            }
        let devices = try await read("list devices") {
            try await $0.query(query, logger: database.logger).collect().map { try Self.credential(from: $0).device }
        }
        guard let label else { return devices }
        return devices.filter { $0.labels[label.key] == label.value }
    }

    /// See ``DeviceDirectory/device(_:)``.
    public func device(_ id: DeviceID) async throws -> Device? {
        try await currentCredential(id)?.device
    }

    /// See ``DeviceRegistryManagement/setEnabled(_:_:)``.
    /// - Throws: ``RegistryError`` `.deviceNotFound`.
    public func setEnabled(_ id: DeviceID, _ isEnabled: Bool) async throws {
        let changed = try await changedRows(
            "\(isEnabled ? "enable" : "disable") device '\(id)'",
            "UPDATE devices SET enabled = \(isEnabled) WHERE id = \(id.rawValue) RETURNING id"
        )
        guard changed > 0 else { throw notFound(id) }
    }

    /// See ``DeviceRegistryManagement/rotateToken(_:)``: the old token stops working at once,
    /// here and in every process using the database.
    /// - Throws: ``RegistryError`` `.deviceNotFound`.
    public func rotateToken(_ id: DeviceID) async throws -> String {
        let token = TokenHasher.makeToken(prefix: TokenHasher.devicePrefix)
        let salt = Data(TokenHasher.makeSalt())
        let hash = Data(TokenHasher.hash(token: token, salt: Array(salt)))
        let rotatedAt = now()
        let changed = try await changedRows(
            "rotate the token of device '\(id)'",
            """
            UPDATE devices SET token_salt = \(salt), token_hash = \(hash), token_rotated_at = \(rotatedAt)
            WHERE id = \(id.rawValue) RETURNING id
            """
        )
        guard changed > 0 else { throw notFound(id) }
        return token
    }

    /// See ``DeviceRegistry/authenticate(device:token:)``.
    public func authenticate(device id: DeviceID, token: String) async throws -> Device? {
        if case .accepted(let device) = try await verify(device: id, token: token) { return device }
        return nil
    }

    /// See ``DeviceRegistry/verify(device:token:)``.
    public func verify(device id: DeviceID, token: String) async throws -> DeviceVerification {
        try await verifyCredential(device: id, token: token).verification
    }

    /// See ``DeviceRegistry/verifyCredential(device:token:)``: the counter read, one salted
    /// hash of `token`, and no row read when the device's row (or its absence) is cached.
    public func verifyCredential(device id: DeviceID, token: String) async throws -> DeviceCredentialCheck {
        guard let credential = try await currentCredential(id) else {
            return DeviceCredentialCheck(verification: .unknownDevice, tokenFingerprint: nil)
        }
        return credential.check(token, counters: counters)
    }

    // MARK: - Internals

    static let deviceColumns =
        "id, name, type, labels, enabled, created_at, token_salt, token_hash, token_rotated_at"

    /// A device's row as of now: from the cache when the registry has not changed since it
    /// was read, else from the database (and then cached, found or not).
    func currentCredential(_ id: DeviceID) async throws -> CachedCredential? {
        let generation = try await observeChanges()
        switch cache.withLock({ $0.device(id) }) {
        case .known(let credential): return credential
        case .unknown: return nil
        case .miss: break
        }
        counters.update { $0.databaseReads += 1 }
        let loaded = try await read("read device '\(id)'") { connection -> CachedCredential? in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.deviceColumns) FROM devices WHERE id = \(id.rawValue)",
                logger: database.logger
            ).collect()
            return try rows.first.map(Self.credential(from:))
        }
        cache.withLock { $0.store(loaded, for: id, readAt: generation) }
        return loaded
    }

    /// Reads `registry_generation` and drops the caches if it moved since the last check.
    /// - Returns: the cache generation the caller's reads belong to.
    func observeChanges() async throws -> UInt64 {
        let value = try await read("check for changes") { connection -> Int64 in
            let rows = try await connection.query("SELECT value FROM registry_generation", logger: database.logger)
                .decode(Int64.self)
            for try await value in rows { return value }
            throw RegistryError(
                code: .storage,
                message: "the device registry \(location) has no registry_generation row; "
                    + "insert it with: INSERT INTO registry_generation (singleton, value) VALUES (TRUE, 1)"
            )
        }
        return cache.withLock { cache in
            if cache.observe(dataVersion: value) { counters.update { $0.invalidations += 1 } }
            counters.update { $0.changeChecks += 1 }
            return cache.generation
        }
    }

    /// Drops the caches after a write by this instance (the counter moved too; this also
    /// covers a check that runs before the next counter read).
    func invalidateCache() {
        cache.withLock { $0.invalidate() }
        counters.update { $0.invalidations += 1 }
    }

    /// Now, to the millisecond (what the database keeps).
    func now() -> Int64 { clock.now() }

    private func notFound(_ id: DeviceID) -> RegistryError {
        RegistryError(
            code: .deviceNotFound,
            message: "no device '\(id)' in \(location); `reflex device list` shows the registered ones"
        )
    }

    /// Runs one statement that ends in `RETURNING`, in its own transaction, and returns how
    /// many rows it returned; drops the caches afterwards, whatever happened.
    func changedRows(_ what: String, _ query: PostgresQuery) async throws -> Int {
        defer { invalidateCache() }
        return try await write(what) { connection in
            try await connection.query(query, logger: database.logger).collect().count
        }
    }

    /// Runs `body` on a pooled connection; database errors become ``RegistryError`` `.storage`.
    func read<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await database.client.withConnection { connection in try await body(connection) }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw storageError(what, error)
        }
    }

    /// Runs `body` in one transaction; database errors become ``RegistryError`` `.storage`.
    func write<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await database.transaction(body)
        } catch let error as RegistryError {
            throw error
        } catch {
            throw storageError(what, error)
        }
    }

    func storageError(_ what: String, _ error: any Error) -> RegistryError {
        RegistryError(
            code: .storage,
            message: "cannot \(what) in the device registry \(location): \(PostgresDatabase.describe(error)); "
                + "check that PostgreSQL is running and reachable"
        )
    }

    /// A device row (``deviceColumns``, in order) as a credential.
    static func credential(from row: PostgresRow) throws -> CachedCredential {
        let (id, name, type, labels, enabled, createdAt, salt, hash, rotatedAt) = try row.decode(
            (String, String, String, String, Bool, Int64, Data, Data, Int64?).self
        )
        let device = Device(
            id: try RegistryRecords.deviceID(stored: id),
            name: name,
            type: type,
            labels: RegistryRecords.decodeLabels(labels),
            isEnabled: enabled,
            createdAt: RegistryRecords.date(milliseconds: createdAt),
            tokenRotatedAt: rotatedAt.map(RegistryRecords.date(milliseconds:))
        )
        return CachedCredential(device: device, salt: Array(salt), hash: Array(hash))
    }
}
