public import ReflexCore
public import ReflexMQTT
import ReflexNode

/// Which credential an MQTT connection authenticated with, as ``DeviceAuthenticator`` records it
/// in ``ReflexMQTT/ClientIdentity/credential`` (never the secret itself), so that the
/// ``RevocationWatcher`` can re-check it when the registry changes.
///
/// Encoded as `device-token:<fingerprint>` (the identity's principal is the device id) or
/// `operator-token:<record id>`.
public enum CredentialReference: Sendable, Hashable {
    /// A device token, by the fingerprint of the stored credential it matched.
    case deviceToken(device: DeviceID, fingerprint: String)
    /// An operator token, by its record id (`reflex token list`).
    case operatorToken(id: Int64)

    private static let devicePrefix = "device-token:"
    private static let operatorPrefix = "operator-token:"

    /// The value for ``ReflexMQTT/ClientIdentity/credential``.
    public var encoded: String {
        switch self {
        case .deviceToken(_, let fingerprint): Self.devicePrefix + fingerprint
        case .operatorToken(let id): Self.operatorPrefix + String(id)
        }
    }

    /// The credential of an identity made by ``DeviceAuthenticator``; nil for anonymous clients
    /// and identities without a recorded credential.
    public init?(identity: ClientIdentity) {
        guard let credential = identity.credential else { return nil }
        if credential.hasPrefix(Self.operatorPrefix) {
            guard let id = Int64(credential.dropFirst(Self.operatorPrefix.count)) else { return nil }
            self = .operatorToken(id: id)
        } else if credential.hasPrefix(Self.devicePrefix) {
            guard let principal = identity.principal, let device = try? DeviceID(validating: principal) else {
                return nil
            }
            self = .deviceToken(device: device, fingerprint: String(credential.dropFirst(Self.devicePrefix.count)))
        } else {
            return nil
        }
    }
}
