import ReflexCore

/// The in-memory view of a registry (``SQLiteDeviceRegistry``, ``PostgresDeviceRegistry``):
/// device credentials (found and not found) and the operator-token index, valid for one
/// *generation* of the stored registry.
///
/// The generation moves whenever the backend's change counter differs from the last value
/// seen, or when this instance writes. Moving it drops everything. The counter is SQLite's
/// `PRAGMA data_version` (read on a connection of its own, so it changes on every commit by any
/// other connection, in this process or another) or PostgreSQL's `registry_generation` row
/// (bumped by a trigger in the same transaction as every change to the registry's tables).
/// A value read from storage is only stored if the generation did not move while it was
/// read, so a slow read can never put an older view back after a change.
struct RegistryCache: Sendable {
    /// At most this many unknown device ids are remembered; the set is cleared when full, so a
    /// flood of random ids costs a bounded amount of memory and one read per id at worst.
    static let unknownDeviceLimit = 10_000

    /// What the cache knows about one device id.
    enum DeviceLookup: Sendable {
        case known(CachedCredential)
        case unknown
        case miss
    }

    private(set) var generation: UInt64 = 0
    private var dataVersion: Int64?
    private var devices: [DeviceID: CachedCredential] = [:]
    private var unknownDevices: Set<DeviceID> = []
    private(set) var operatorTokens: OperatorTokenIndex?

    /// Takes the backend's current change counter; drops everything when it changed.
    /// - Returns: whether the cache was dropped.
    mutating func observe(dataVersion version: Int64) -> Bool {
        guard version != dataVersion else { return false }
        let hadVersion = dataVersion != nil
        dataVersion = version
        invalidate()
        return hadVersion
    }

    /// Drops everything and starts a new generation.
    mutating func invalidate() {
        generation &+= 1
        devices.removeAll()
        unknownDevices.removeAll()
        operatorTokens = nil
    }

    func device(_ id: DeviceID) -> DeviceLookup {
        if let credential = devices[id] { return .known(credential) }
        return unknownDevices.contains(id) ? .unknown : .miss
    }

    /// Stores what was read for `id` while the cache was at `generation`, unless it moved since.
    mutating func store(_ credential: CachedCredential?, for id: DeviceID, readAt generation: UInt64) {
        guard generation == self.generation else { return }
        if let credential {
            devices[id] = credential
            return
        }
        if unknownDevices.count >= Self.unknownDeviceLimit { unknownDevices.removeAll(keepingCapacity: true) }
        unknownDevices.insert(id)
    }

    /// Stores the operator tokens read while the cache was at `generation`, unless it moved since.
    mutating func store(_ index: OperatorTokenIndex, readAt generation: UInt64) {
        guard generation == self.generation else { return }
        operatorTokens = index
    }
}

/// A device's row as last read from storage: the record and its salted token hash.
struct CachedCredential: Sendable {
    var device: Device
    var salt: [UInt8]
    var hash: [UInt8]
    /// ``TokenHasher/fingerprint(salt:hash:)`` of the stored credential.
    var fingerprint: String
}
