import Foundation
import GRDB
public import ReflexCore
import Synchronization

/// The device registry and operator tokens in `<dataDirectory>/registry.sqlite` (SQLite in WAL
/// mode through a GRDB `DatabasePool`).
///
/// Several processes may use the same file at once: `reflex serve` authenticates devices while
/// `reflex device ...` commands add, disable or rotate them. Writes wait up to 5 s for a lock.
///
/// Credentials are cached in memory (``RegistryCache``): device rows, found and not found, and
/// the current operator tokens indexed by a lookup key. Every check first asks SQLite, on a
/// connection of its own, whether any other connection committed since (`PRAGMA data_version`,
/// which reads the shared WAL index and no table), and drops the caches if so. So a change by
/// another process (a device added, disabled or rotated, a token revoked) applies to the very
/// next check, while a repeated check, or a flood of unknown ids or tokens, costs one such
/// pragma and about one SHA-256 and no row read. ``changeGeneration()`` exposes the same signal
/// to the node's revocation watcher, which re-checks open connections. ``counters`` shows the
/// cost.
///
/// Secrets: see ``TokenHasher`` for the format; tokens are returned once, by the call that
/// creates them, and only their salted SHA-256 is stored. Hashes are compared in constant time.
public final class SQLiteDeviceRegistry: DeviceRegistry, OperatorTokenVerifier, CredentialRegistry {
    /// The file name of the registry inside the data directory.
    public static let fileName = "registry.sqlite"

    /// The database file.
    public let path: String
    /// Database reads, token hashes and change checks so far.
    public let counters = RegistryCounters()

    let pool: DatabasePool
    /// A connection that only reads `PRAGMA data_version`: that value changes when any *other*
    /// connection commits, so this one must never write.
    let changeWatch: DatabaseQueue
    let cache = Mutex(RegistryCache())

    /// Opens (creating if needed) `<dataDirectory>/registry.sqlite` and migrates it.
    /// - Parameter dataDirectory: the node's data directory; created if missing.
    /// - Throws: ``RegistryError`` with code `.storage` naming the file.
    public convenience init(dataDirectory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw RegistryError(
                code: .storage,
                message: "cannot create the data directory '\(dataDirectory)': \(error); "
                    + "check the path and its permissions, or choose another with --data-dir"
            )
        }
        try self.init(path: (dataDirectory as NSString).appendingPathComponent(Self.fileName))
    }

    /// Opens (creating if needed) the registry database at `path` and migrates it.
    /// - Throws: ``RegistryError`` with code `.storage` naming the file.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.label = "reflex.registry"
        var watchConfiguration = Configuration()
        watchConfiguration.busyMode = .timeout(5)
        watchConfiguration.label = "reflex.registry.changes"
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try RegistryMigrations.migrator.migrateRefusingNewer(pool)
            changeWatch = try DatabaseQueue(path: path, configuration: watchConfiguration)
        } catch {
            throw RegistryError(
                code: .storage,
                message: "cannot open the device registry '\(path)': \(error); check that the file is a Reflex "
                    + "registry and that the data directory is writable"
            )
        }
    }

    // MARK: - Devices

    /// Registers a device and returns its token, the only time the token is available.
    /// - Parameters:
    ///   - name: a display name; default the id.
    ///   - type: the device type ("pump", "sensor"); default `generic`.
    ///   - labels: free-form key/value labels; keys must be non-empty.
    /// - Throws: ``RegistryError`` `.deviceExists` if the id is taken, `.invalidArgument` for an
    ///   empty label key, `.storage` for database errors.
    public func addDevice(
        id: DeviceID,
        name: String? = nil,
        type: String? = nil,
        labels: [String: String] = [:]
    ) async throws -> (Device, token: String) {
        let device = try RegistryRecords.newDevice(
            id: id,
            name: name,
            type: type,
            labels: labels,
            createdAt: NodeClock.systemMilliseconds()
        )
        let token = TokenHasher.makeToken(prefix: TokenHasher.devicePrefix)
        let salt = TokenHasher.makeSalt()
        let hash = TokenHasher.hash(token: token, salt: salt)
        let labelsJSON = try RegistryRecords.encodeLabels(labels)
        let inserted = try await write("add device '\(id)'") { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM devices WHERE id = ?", arguments: [id.rawValue]) != nil {
                return false
            }
            try db.execute(
                sql: """
                    INSERT INTO devices (id, name, type, labels, enabled, created_at, token_salt, token_hash)
                    VALUES (?, ?, ?, ?, 1, ?, ?, ?)
                    """,
                arguments: [
                    id.rawValue, device.name, device.type, labelsJSON, RegistryRecords.milliseconds(device.createdAt),
                    Data(salt),
                    Data(hash),
                ]
            )
            return true
        }
        guard inserted else {
            throw RegistryError(
                code: .deviceExists,
                message: "device '\(id)' is already registered in \(path); choose another id, "
                    + "or use `reflex device rotate-token \(id)` for a new token"
            )
        }
        invalidateCache()
        return (device, token)
    }

    /// The registered devices, sorted by id, optionally only those of a type and with a label.
    public func devices(type: String? = nil, label: (key: String, value: String)? = nil) async throws -> [Device] {
        let devices = try await read("list devices") { db in
            let rows =
                if let type {
                    try Row.fetchAll(db, sql: "SELECT * FROM devices WHERE type = ? ORDER BY id", arguments: [type])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM devices ORDER BY id")
                }
            return try rows.map { try Self.device(from: $0) }
        }
        guard let label else { return devices }
        return devices.filter { $0.labels[label.key] == label.value }
    }

    /// The device with this id, or nil.
    public func device(_ id: DeviceID) async throws -> Device? {
        try await currentCredential(id)?.device
    }

    /// Enables or disables a device. A disabled device cannot connect; its token is kept.
    /// - Throws: ``RegistryError`` `.deviceNotFound`.
    public func setEnabled(_ id: DeviceID, _ isEnabled: Bool) async throws {
        let changed = try await write("\(isEnabled ? "enable" : "disable") device '\(id)'") { db in
            try db.execute(
                sql: "UPDATE devices SET enabled = ? WHERE id = ?",
                arguments: [isEnabled, id.rawValue]
            )
            return db.changesCount > 0
        }
        guard changed else { throw notFound(id) }
        invalidateCache()
    }

    /// Replaces a device's token and returns the new one (the only time it is available). The
    /// old token stops working at once, for new connections here and in any other process that
    /// has the file open (open connections are closed by the node's revocation watcher).
    /// - Throws: ``RegistryError`` `.deviceNotFound`.
    public func rotateToken(_ id: DeviceID) async throws -> String {
        let token = TokenHasher.makeToken(prefix: TokenHasher.devicePrefix)
        let salt = TokenHasher.makeSalt()
        let hash = TokenHasher.hash(token: token, salt: salt)
        let changed = try await write("rotate the token of device '\(id)'") { db in
            try db.execute(
                sql: "UPDATE devices SET token_salt = ?, token_hash = ?, token_rotated_at = ? WHERE id = ?",
                arguments: [Data(salt), Data(hash), RegistryRecords.milliseconds(Self.now()), id.rawValue]
            )
            return db.changesCount > 0
        }
        guard changed else { throw notFound(id) }
        invalidateCache()
        return token
    }

    /// See ``DeviceRegistry/authenticate(device:token:)``.
    public func authenticate(device id: DeviceID, token: String) async throws -> Device? {
        if case .accepted(let device) = try await verify(device: id, token: token) { return device }
        return nil
    }

    /// Checks a device's token against its current row (cached until the file changes).
    public func verify(device id: DeviceID, token: String) async throws -> DeviceVerification {
        try await verifyCredential(device: id, token: token).verification
    }

    /// See ``DeviceRegistry/verifyCredential(device:token:)``: one salted hash of `token`, and no
    /// row read when the device's row (or its absence) is cached for the current generation.
    public func verifyCredential(device id: DeviceID, token: String) async throws -> DeviceCredentialCheck {
        guard let credential = try await currentCredential(id) else {
            return DeviceCredentialCheck(verification: .unknownDevice, tokenFingerprint: nil)
        }
        return credential.check(token, counters: counters)
    }

    // MARK: - Internals

    /// A device's row as of now: from the cache when the file has not changed since it was
    /// read, else from the file (and then cached, found or not).
    func currentCredential(_ id: DeviceID) async throws -> CachedCredential? {
        let generation = try observeChanges()
        switch cache.withLock({ $0.device(id) }) {
        case .known(let credential): return credential
        case .unknown: return nil
        case .miss: break
        }
        counters.update { $0.databaseReads += 1 }
        let loaded = try await read("read device '\(id)'") { db -> CachedCredential? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM devices WHERE id = ?", arguments: [id.rawValue])
            else { return nil }
            let salt: Data = row["token_salt"]
            let hash: Data = row["token_hash"]
            return CachedCredential(device: try Self.device(from: row), salt: Array(salt), hash: Array(hash))
        }
        cache.withLock { $0.store(loaded, for: id, readAt: generation) }
        return loaded
    }

    /// Reads `PRAGMA data_version` and drops the caches if another connection committed since
    /// the last check. - Returns: the cache generation the caller's reads belong to.
    func observeChanges() throws -> UInt64 {
        let version: Int64
        do {
            version = try changeWatch.inDatabase { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        } catch {
            throw storageError("check for changes", error)
        }
        return cache.withLock { cache in
            if cache.observe(dataVersion: version) { counters.update { $0.invalidations += 1 } }
            counters.update { $0.changeChecks += 1 }
            return cache.generation
        }
    }

    /// Drops the caches after a write by this instance.
    func invalidateCache() {
        cache.withLock { $0.invalidate() }
        counters.update { $0.invalidations += 1 }
    }

    private func notFound(_ id: DeviceID) -> RegistryError {
        RegistryError(
            code: .deviceNotFound,
            message: "no device '\(id)' in \(path); `reflex device list` shows the registered ones"
        )
    }

    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as RegistryError {
            throw error
        } catch {
            throw storageError(what, error)
        }
    }

    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as RegistryError {
            throw error
        } catch {
            throw storageError(what, error)
        }
    }

    func storageError(_ what: String, _ error: any Error) -> RegistryError {
        RegistryError(
            code: .storage,
            message: "cannot \(what) in the device registry \(path): \(error); "
                + "check that the disk is not full and the file is writable"
        )
    }

    /// Now, to the millisecond (what the database keeps), so returned values equal stored ones.
    static func now() -> Date {
        RegistryRecords.date(milliseconds: NodeClock.systemMilliseconds())
    }

    static func device(from row: Row) throws -> Device {
        Device(
            id: try RegistryRecords.deviceID(stored: row["id"]),
            name: row["name"],
            type: row["type"],
            labels: RegistryRecords.decodeLabels(row["labels"]),
            isEnabled: row["enabled"],
            createdAt: (row["created_at"] as Int64?).map(RegistryRecords.date(milliseconds:)),
            tokenRotatedAt: (row["token_rotated_at"] as Int64?).map(RegistryRecords.date(milliseconds:))
        )
    }
}
