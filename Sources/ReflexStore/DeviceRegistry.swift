public import Foundation
public import ReflexCore

/// The devices Reflex knows and their credentials.
///
/// Implementations: ``SQLiteDeviceRegistry``, ``PostgresDeviceRegistry``. The MQTT authenticator in `ReflexServer` calls
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

    /// Like ``verify(device:token:)``, and also names the stored credential that accepted the
    /// token (``DeviceCredentialState/tokenFingerprint``), so that an open connection can later
    /// be told apart from a rotated token. The default implementation has no fingerprint.
    func verifyCredential(device: DeviceID, token: String) async throws -> DeviceCredentialCheck
}

extension DeviceRegistry {
    /// Built on ``verify(device:token:)``; has no fingerprint.
    public func verifyCredential(device: DeviceID, token: String) async throws -> DeviceCredentialCheck {
        DeviceCredentialCheck(verification: try await verify(device: device, token: token), tokenFingerprint: nil)
    }

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

/// The outcome of a device credential check and, when it matched, which stored credential did.
public struct DeviceCredentialCheck: Sendable, Hashable {
    /// Accepted, disabled, unknown or wrong.
    public var verification: DeviceVerification
    /// The fingerprint of the credential that matched (accepted or disabled); nil otherwise, or
    /// when the registry does not provide fingerprints.
    public var tokenFingerprint: String?

    public init(verification: DeviceVerification, tokenFingerprint: String?) {
        self.verification = verification
        self.tokenFingerprint = tokenFingerprint
    }
}

/// A device's current credential without its secret, for re-checking open connections.
public struct DeviceCredentialState: Sendable, Hashable {
    /// Whether the device may connect.
    public var isEnabled: Bool
    /// A short, non-secret name of the stored token that changes whenever it is rotated.
    public var tokenFingerprint: String

    public init(isEnabled: Bool, tokenFingerprint: String) {
        self.isEnabled = isEnabled
        self.tokenFingerprint = tokenFingerprint
    }
}

/// Credentials whose changes can be watched, so that what was accepted earlier (open MQTT
/// connections, open event streams) can be re-checked when they change.
///
/// ``changeGeneration()`` is polled (every 250 ms by the node's revocation watcher), so it must
/// be cheap; the other two are called only after it moved, for each open connection.
public protocol CredentialRegistry: Sendable {
    /// A number that moves whenever devices or operator tokens may have changed, here or in
    /// another process. Equal values mean nothing changed in between.
    func changeGeneration() async throws -> UInt64

    /// A device's current credential, or nil if no device has this id.
    func credentialState(of device: DeviceID) async throws -> DeviceCredentialState?

    /// Every device's current credential, in one read: what a re-check of many open
    /// connections uses instead of one ``credentialState(of:)`` per device.
    func allCredentialStates() async throws -> [DeviceID: DeviceCredentialState]

    /// The operator token with this record id if it is current, nil if it is revoked or unknown.
    func currentOperatorToken(id: Int64) async throws -> OperatorToken?
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
