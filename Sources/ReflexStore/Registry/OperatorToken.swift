public import Foundation

/// What an operator token may do. Roles are ordered: each includes the ones before it.
public enum OperatorRole: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Read-only access.
    case viewer
    /// Read access plus day-to-day actions (acknowledge alarms, send commands).
    case `operator`
    /// Everything, including managing devices and tokens; may also use MQTT (subscribe anywhere).
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (lhs: OperatorRole, rhs: OperatorRole) -> Bool { lhs.rank < rhs.rank }

    /// Whether this role includes everything `other` may do.
    public func includes(_ other: OperatorRole) -> Bool { self >= other }
}

/// An operator (or service) token's record. The secret itself is never stored or kept here.
public struct OperatorToken: Sendable, Hashable, Codable, Identifiable {
    /// The record id, used to revoke it (`reflex token revoke <id>`).
    public var id: Int64
    /// Who or what the token is for ("alice", "grafana").
    public var name: String
    public var role: OperatorRole
    public var createdAt: Date
    public var isRevoked: Bool

    public init(id: Int64, name: String, role: OperatorRole, createdAt: Date, isRevoked: Bool) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.isRevoked = isRevoked
    }
}

/// Checks operator tokens (HTTP API, and MQTT for admins).
public protocol OperatorTokenVerifier: Sendable {
    /// - Returns: the token's record if `token` is a current (not revoked) operator token; nil otherwise.
    func verifyOperatorToken(_ token: String) async throws -> OperatorToken?
}
