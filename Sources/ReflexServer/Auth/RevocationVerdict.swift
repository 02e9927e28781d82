public import ReflexMQTT
import ReflexNode
public import ReflexStore

/// Whether a credential accepted earlier is still good, and if not, why: the decision the
/// ``RevocationWatcher`` takes for each open MQTT connection and event stream. Pure.
public enum RevocationVerdict: Sendable, Hashable {
    /// Still valid: keep the connection.
    case valid
    /// The device was disabled (`reflex device disable`).
    case deviceDisabled
    /// The device is no longer registered.
    case deviceRemoved
    /// The device's token was rotated (`reflex device rotate-token`): the connection used the old one.
    case deviceTokenRotated
    /// The operator token was revoked (`reflex token revoke`).
    case operatorTokenRevoked

    /// The verdict for a device connection that used the token with `fingerprint`, given the
    /// device's current credential (nil: no such device any more).
    public init(deviceFingerprint fingerprint: String, current: DeviceCredentialState?) {
        guard let current else {
            self = .deviceRemoved
            return
        }
        if current.tokenFingerprint != fingerprint {
            self = .deviceTokenRotated
        } else {
            self = current.isEnabled ? .valid : .deviceDisabled
        }
    }

    /// The verdict for an operator token, given its current record (nil: revoked or gone).
    public init(operatorToken current: OperatorToken?) {
        self = current == nil ? .operatorTokenRevoked : .valid
    }

    /// The DISCONNECT reason for an MQTT 5 client: `0x87 Not authorized` when the device may no
    /// longer connect at all (disabled or removed); `0x8C Bad authentication method` when the
    /// credential it authenticated with is no longer accepted (a rotated device token, a revoked
    /// operator token). Nil for ``valid``.
    public var reasonCode: ReasonCode? {
        switch self {
        case .valid: nil
        case .deviceDisabled, .deviceRemoved: .notAuthorized
        case .deviceTokenRotated, .operatorTokenRevoked: .badAuthenticationMethod
        }
    }

    /// The reason string sent with the DISCONNECT and logged.
    public var explanation: String {
        switch self {
        case .valid: "the credential is valid"
        case .deviceDisabled: "the device was disabled"
        case .deviceRemoved: "the device is no longer registered"
        case .deviceTokenRotated: "the device token was rotated; connect with the new token"
        case .operatorTokenRevoked: "the operator token was revoked"
        }
    }
}
