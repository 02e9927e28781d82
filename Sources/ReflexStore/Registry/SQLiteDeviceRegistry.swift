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
/// Device credentials are cached in memory so that an MQTT CONNECT normally does not touch
/// SQLite. A cached entry is trusted for ``cacheLifetime`` and only when it *accepts* the token;
/// an unknown id, a mismatch, a disabled device or an older entry is read again from the file.
/// So a device added or rotated by another process works at once, and a token rotated or a
/// device disabled by another process stops working within ``cacheLifetime`` (immediately when
/// done through this instance).
///
/// Secrets: see ``TokenHasher`` for the format; tokens are returned once, by the call that
/// creates them, and only their salted SHA-256 is stored.
public final class SQLiteDeviceRegistry: DeviceRegistry, OperatorTokenVerifier {
    /// The file name of the registry inside the data directory.
    public static let fileName = "registry.sqlite"

    /// The database file.
    public let path: String
    /// How long a cached, accepting credential is trusted before it is read again.
    public let cacheLifetime: Duration

    let pool: DatabasePool
    let cache = Mutex<[DeviceID: CachedCredential]>([:])

    /// A device's credential as last read from the file.
    struct CachedCredential: Sendable {
        var device: Device
        var salt: [UInt8]
        var hash: [UInt8]
        var loadedAt: ContinuousClock.Instant
    }

    /// Opens (creating if needed) `<dataDirectory>/registry.sqlite` and migrates it.
    /// - Parameters:
    ///   - dataDirectory: the node's data directory; created if missing.
    ///   - cacheLifetime: see the type's documentation; default 1 s.
    /// - Throws: ``RegistryError`` with code `.storage` naming the file.
    public convenience init(dataDirectory: String, cacheLifetime: Duration = .seconds(1)) throws {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw RegistryError(
                code: .storage,
                message: "cannot create the data directory '\(dataDirectory)': \(error); "
                    + "check the path and its permissions, or choose another with --data-dir"
            )
        }
        try self.init(
            path: (dataDirectory as NSString).appendingPathComponent(Self.fileName),
            cacheLifetime: cacheLifetime
        )
    }

    /// Opens (creating if needed) the registry database at `path` and migrates it.
    /// - Throws: ``RegistryError`` with code `.storage` naming the file.
    public init(path: String, cacheLifetime: Duration = .seconds(1)) throws {
        self.path = path
        self.cacheLifetime = cacheLifetime
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.label = "reflex.registry"
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try RegistryMigrations.migrator.migrate(pool)
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
        if let emptyKey = labels.keys.first(where: { $0.isEmpty }) {
            throw RegistryError(
                code: .invalidArgument,
                message:
                    "device '\(id)': label '\(emptyKey)=\(labels[emptyKey] ?? "")' has an empty key; write key=value"
            )
        }
        let token = TokenHasher.makeToken(prefix: TokenHasher.devicePrefix)
        let salt = TokenHasher.makeSalt()
        let hash = TokenHasher.hash(token: token, salt: salt)
        let device = Device(
            id: id,
            name: name.flatMap { $0.isEmpty ? nil : $0 } ?? id.rawValue,
            type: type.flatMap { $0.isEmpty ? nil : $0 } ?? "generic",
            labels: labels,
            isEnabled: true,
            createdAt: Self.now(),
            tokenRotatedAt: nil
        )
        let labelsJSON = try Self.encodeLabels(labels)
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
                    id.rawValue, device.name, device.type, labelsJSON, Self.milliseconds(device.createdAt), Data(salt),
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
        remember(device, salt: salt, hash: hash)
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
        try await loadCredential(id)?.device
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
        _ = try await loadCredential(id)
    }

    /// Replaces a device's token and returns the new one (the only time it is available). The
    /// old token stops working at once for this instance, within ``cacheLifetime`` elsewhere.
    /// - Throws: ``RegistryError`` `.deviceNotFound`.
    public func rotateToken(_ id: DeviceID) async throws -> String {
        let token = TokenHasher.makeToken(prefix: TokenHasher.devicePrefix)
        let salt = TokenHasher.makeSalt()
        let hash = TokenHasher.hash(token: token, salt: salt)
        let changed = try await write("rotate the token of device '\(id)'") { db in
            try db.execute(
                sql: "UPDATE devices SET token_salt = ?, token_hash = ?, token_rotated_at = ? WHERE id = ?",
                arguments: [Data(salt), Data(hash), Self.milliseconds(Self.now()), id.rawValue]
            )
            return db.changesCount > 0
        }
        guard changed else { throw notFound(id) }
        _ = try await loadCredential(id)
        return token
    }

    /// See ``DeviceRegistry/authenticate(device:token:)``.
    public func authenticate(device id: DeviceID, token: String) async throws -> Device? {
        if case .accepted(let device) = try await verify(device: id, token: token) { return device }
        return nil
    }

    /// Checks a device's token, from the cache when it accepts and is fresh, else from the file.
    public func verify(device id: DeviceID, token: String) async throws -> DeviceVerification {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[id] }), cached.device.isEnabled, now - cached.loadedAt < cacheLifetime,
            TokenHasher.matches(token: token, salt: cached.salt, expectedHash: cached.hash)
        {
            return .accepted(cached.device)
        }
        guard let fresh = try await loadCredential(id) else { return .unknownDevice }
        guard TokenHasher.matches(token: token, salt: fresh.salt, expectedHash: fresh.hash) else { return .wrongToken }
        return fresh.device.isEnabled ? .accepted(fresh.device) : .disabled(fresh.device)
    }

    // MARK: - Internals

    /// Reads a device's row, refreshing (or dropping) its cache entry.
    @discardableResult
    func loadCredential(_ id: DeviceID) async throws -> CachedCredential? {
        let loaded = try await read("read device '\(id)'") { db -> CachedCredential? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM devices WHERE id = ?", arguments: [id.rawValue])
            else { return nil }
            let salt: Data = row["token_salt"]
            let hash: Data = row["token_hash"]
            return CachedCredential(
                device: try Self.device(from: row),
                salt: Array(salt),
                hash: Array(hash),
                loadedAt: .now
            )
        }
        guard let credential = loaded else {
            cache.withLock { _ = $0.removeValue(forKey: id) }
            return nil
        }
        cache.withLock { $0[id] = credential }
        return credential
    }

    private func remember(_ device: Device, salt: [UInt8], hash: [UInt8]) {
        let credential = CachedCredential(device: device, salt: salt, hash: hash, loadedAt: .now)
        cache.withLock { $0[device.id] = credential }
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

    private func storageError(_ what: String, _ error: any Error) -> RegistryError {
        RegistryError(
            code: .storage,
            message: "cannot \(what) in the device registry \(path): \(error); "
                + "check that the disk is not full and the file is writable"
        )
    }

    /// Now, to the millisecond (what the database keeps), so returned values equal stored ones.
    static func now() -> Date {
        date(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    static func milliseconds(_ date: Date?) -> Int64? {
        date.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    static func encodeLabels(_ labels: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(labels), as: UTF8.self)
    }

    static func device(from row: Row) throws -> Device {
        let rawID: String = row["id"]
        let id: DeviceID
        do {
            id = try DeviceID(validating: rawID)
        } catch {
            throw RegistryError(code: .storage, message: "the registry holds an invalid device id: \(error)")
        }
        let labelsText: String = row["labels"]
        let labels = (try? JSONDecoder().decode([String: String].self, from: Data(labelsText.utf8))) ?? [:]
        return Device(
            id: id,
            name: row["name"],
            type: row["type"],
            labels: labels,
            isEnabled: row["enabled"],
            createdAt: (row["created_at"] as Int64?).map(date(milliseconds:)),
            tokenRotatedAt: (row["token_rotated_at"] as Int64?).map(date(milliseconds:))
        )
    }
}
