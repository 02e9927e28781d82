/// The state of one part of the node, or of the node as a whole (the worst of its parts).
public enum HealthState: String, Sendable, Hashable, Codable, Comparable {
    /// Working as it should.
    case ok
    /// Working, impaired: the node still ingests and serves.
    case degraded
    /// Not working: telemetry is not being made durable, or a runner stopped. `GET /health`
    /// answers 503 so a load balancer drains the node.
    case failing

    private var rank: Int {
        switch self {
        case .ok: 0
        case .degraded: 1
        case .failing: 2
        }
    }

    public static func < (lhs: HealthState, rhs: HealthState) -> Bool { lhs.rank < rhs.rank }
}

/// One checked part: `store`, `ingest`, `broker`, `detection` or `automation`.
public struct HealthCheckResult: Sendable, Hashable, Codable {
    /// The part's name.
    public var part: String
    /// Its state.
    public var state: HealthState
    /// What was seen, in words (ages, counts, the limit crossed).
    public var detail: String

    /// - Parameters: see the properties.
    public init(part: String, state: HealthState, detail: String) {
        self.part = part
        self.state = state
        self.detail = detail
    }
}

/// What `GET /health` answers: the overall state, and every part with its state and detail.
public struct HealthReport: Sendable, Hashable {
    /// Every part checked, in a fixed order.
    public var checks: [HealthCheckResult]

    /// The worst state of any part (`ok` when nothing was checked).
    public var status: HealthState { checks.map(\.state).max() ?? .ok }

    /// - Parameter checks: the parts.
    public init(checks: [HealthCheckResult]) {
        self.checks = checks
    }
}
