public import ReflexCore

/// The devices Reflex knows and their credentials.
public protocol DeviceRegistry: Sendable {
    /// Checks a device's token (constant-time comparison of salted hashes).
    /// - Returns: the device if the id exists, is enabled and the token matches; nil otherwise.
    func authenticate(device: DeviceID, token: String) async throws -> Device?
}

/// A registered device.
public struct Device: Sendable, Hashable, Codable {
    public var id: DeviceID
    public var name: String
    public var type: String
    public var labels: [String: String]
    public var isEnabled: Bool

    public init(id: DeviceID, name: String, type: String, labels: [String: String], isEnabled: Bool) {
        self.id = id
        self.name = name
        self.type = type
        self.labels = labels
        self.isEnabled = isEnabled
    }
}
