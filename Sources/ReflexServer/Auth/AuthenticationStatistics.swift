import ReflexNode
import Synchronization

/// Counts of MQTT authentication outcomes, for tests and the status page. Thread-safe.
public final class AuthenticationStatistics: Sendable {
    /// One authentication outcome.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        case acceptedDevice = "accepted_device"
        case acceptedOperator = "accepted_operator"
        case acceptedAnonymous = "accepted_anonymous"
        /// Unknown device, wrong or missing token, unknown operator token.
        case badCredentials = "bad_credentials"
        /// A disabled device with the right token.
        case disabled
        /// No user name while anonymous access is off.
        case anonymous
        /// A valid operator token whose role is not admin.
        case operatorNotAdmin = "operator_not_admin"
        /// The registry could not be read.
        case error
    }

    private let counts = Mutex<[Outcome: Int]>([:])

    /// Empty counts.
    public init() {}

    /// How often `outcome` happened.
    public subscript(_ outcome: Outcome) -> Int {
        counts.withLock { $0[outcome, default: 0] }
    }

    func count(_ outcome: Outcome) {
        counts.withLock { $0[outcome, default: 0] += 1 }
    }
}
