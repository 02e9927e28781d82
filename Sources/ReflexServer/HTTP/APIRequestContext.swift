public import Hummingbird
import ReflexNode
public import ReflexStore

/// The request context of the HTTP API: Hummingbird's core storage plus the authenticated
/// operator token, set by ``TokenAuthMiddleware``.
public struct APIRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The operator token that authenticated the request; nil on public routes.
    public var token: OperatorToken?

    /// Creates a context for a new request.
    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.token = nil
    }

    /// Throws 401 when the request is not authenticated, 403 when its role is below `role`.
    func require(_ role: OperatorRole) throws -> OperatorToken {
        guard let token else {
            throw APIError(.unauthorized, code: "unauthorized", message: "missing operator token")
        }
        guard token.role.includes(role) else {
            throw APIError(
                .forbidden,
                code: "forbidden",
                message: "token '\(token.name)' has role \(token.role.rawValue); this needs \(role.rawValue) or higher"
            )
        }
        return token
    }
}
