public import Foundation
public import ReflexCore

/// The devices Reflex knows and their credentials.
///
/// Implementations: ``SQLiteDeviceRegistry``. The MQTT authenticator in `ReflexServer` calls
/// ``verify(device:token:)`` on every CONNECT from a device, so it must be fast (no slow KDF, an
/// in-memory cache in front of storage) and must never log the token.
public protocol DeviceRegistry: Sendable {
    /// Checks a device's token (constant-time comparison of salted hashes).
    /// - Returns: the device if the id exists, is enabled and the token matches; nil otherwise.
    func authenticate(device: DeviceID, token: String) async throws -> Device?

    /// Checks a device's token and says why it failed, so that a caller can answer a disabled
    /// device differently from a wrong token. The default implementation only knows what
    /// ``authenticate(device:token:)`` returns and reports every failure as `.wrongToken`.
    func verify(device: DeviceID, token: String) async throws -> DeviceVerification
}

extension DeviceRegistry {
    /// Built on ``authenticate(device:token:)``; cannot tell unknown or disabled devices apart.
    public func verify(device: DeviceID, token: String) async throws -> DeviceVerification {
        if let found = try await authenticate(device: device, token: token) { return .accepted(found) }
        return .wrongToken
    }
}

/// The outcome of checking a device's credentials.
public enum DeviceVerification: Sendable, Hashable {
    /// The token matches and the device is enabled.
    case accepted(Device)
    /// The token matches but the device is disabled.
    case disabled(Device)
    /// No device has this id.
    case unknownDevice
    /// The device exists but the token does not match.
    case wrongToken
}

/// A registered device.
public struct Device: Sendable, Hashable, Codable {
    public var id: DeviceID
    public var name: String
    public var type: String
    public var labels: [String: String]
    public var isEnabled: Bool
    /// When the device was added, if known.
    public var createdAt: Date?
    /// When its token was last rotated, if ever.
    public var tokenRotatedAt: Date?

    public init(id: DeviceID, name: String, type: String, labels: [String: String], isEnabled: Bool) {
        self.id = id
        self.name = name
        self.type = type
        self.labels = labels
        self.isEnabled = isEnabled
    }

    /// A device with its registry timestamps.
    public init(
        id: DeviceID,
        name: String,
        type: String,
        labels: [String: String],
        isEnabled: Bool,
        createdAt: Date?,
        tokenRotatedAt: Date?
    ) {
        self.init(id: id, name: name, type: type, labels: labels, isEnabled: isEnabled)
        self.createdAt = createdAt
        self.tokenRotatedAt = tokenRotatedAt
    }
}
