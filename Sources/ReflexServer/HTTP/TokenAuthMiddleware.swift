import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ReflexNode
import ReflexStore

/// Authenticates every request except `GET /health` with an operator token.
///
/// Accepts `Authorization: Bearer <token>` and `Authorization: Token <token>` (what InfluxDB
/// clients and Telegraf send). A missing, malformed, unknown or revoked token is 401; the role
/// check (403) is left to the routes. The token is never logged.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    let verifier: any OperatorTokenVerifier
    /// Paths that need no token.
    let publicPaths: Set<String>

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if publicPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"reflex\""]
        guard let header = request.headers[.authorization] else {
            throw APIError(
                .unauthorized,
                code: "unauthorized",
                message: "missing Authorization header; send 'Authorization: Bearer <operator token>'",
                headers: challenge
            )
        }
        guard let secret = Self.token(fromAuthorization: header) else {
            throw APIError(
                .unauthorized,
                code: "unauthorized",
                message: "Authorization header must be 'Bearer <token>' or 'Token <token>'",
                headers: challenge
            )
        }
        guard let token = try await verifier.verifyOperatorToken(secret) else {
            context.logger.debug("Rejected HTTP token", metadata: ["http.path": "\(request.uri.path)"])
            throw APIError(
                .unauthorized,
                code: "unauthorized",
                message: "invalid or revoked operator token",
                headers: challenge
            )
        }
        var context = context
        context.token = token
        context.logger[metadataKey: "auth.tokenName"] = "\(token.name)"
        return try await next(request, context)
    }

    /// The secret of `Bearer <t>` or `Token <t>` (scheme case-insensitive), or nil.
    static func token(fromAuthorization header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return nil }
        let scheme = parts[0].lowercased()
        guard scheme == "bearer" || scheme == "token" else { return nil }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        return secret.isEmpty ? nil : secret
    }
}
