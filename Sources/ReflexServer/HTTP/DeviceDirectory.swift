public import ReflexCore
public import ReflexStore

/// The part of the device registry the HTTP API reads: listing and looking up devices.
///
/// ``SQLiteDeviceRegistry`` conforms; tests may pass a fake.
public protocol DeviceDirectory: Sendable {
    /// Devices, filtered by `type` and by one label `key=value` when given, sorted by id.
    func devices(type: String?, label: (key: String, value: String)?) async throws -> [Device]
    /// One device, or nil if the id is unknown.
    func device(_ id: DeviceID) async throws -> Device?
}

extension SQLiteDeviceRegistry: DeviceDirectory {}
