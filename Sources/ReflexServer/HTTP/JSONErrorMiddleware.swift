import Hummingbird
import Logging
import NIOHTTP1
import ReflexNode
import ReflexStore

/// Turns every error into a JSON answer: ``APIError`` as is (in InfluxDB's shape under
/// `/api/v2/`), Hummingbird's own errors (unknown
/// route, body too large) with the same status, store overload as 503, anything else as 500
/// (logged, without details to the client).
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError where request.uri.path.hasPrefix("/api/v2/") && error.shape == .reflex {
            // InfluxDB clients (Telegraf) read `{"code", "message"}`; 401 comes from the auth middleware.
            throw error.influx
        } catch let error as APIError {
            throw error
        } catch let error as SampleStoreError {
            throw Self.apiError(for: error, logger: context.logger)
        } catch let error as any HTTPResponseError {
            let code: String
            var message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            switch error.status {
            case .notFound:
                code = "not_found"
                message = "no route \(request.method) \(request.uri.path); see docs/api.md"
            case .contentTooLarge: code = "too_large"
            case .methodNotAllowed: code = "method_not_allowed"
            case .unauthorized: code = "unauthorized"
            default: code = error.status.code < 500 ? "bad_request" : "internal"
            }
            throw APIError(error.status, code: code, message: message)
        } catch let error as HTTPParserError {
            // A request that could not be read (malformed, or its body cut off by the client or
            // by http.bodyTimeout) is the client's doing: not an error of the node, not logged
            // as one (a slow client must not flood the log).
            context.logger.debug("Unreadable HTTP request", metadata: ["error": "\(error)"])
            throw APIError(.badRequest, code: "bad_request", message: "the request could not be read: \(error)")
        } catch {
            context.logger.error(
                "HTTP request failed",
                metadata: ["error": "\(error)", "http.path": "\(request.uri.path)"]
            )
            throw APIError(.internalServerError, code: "internal", message: "internal error; see the node's log")
        }
    }

    /// The answer for a store failure: 503 when it is overloaded, closing or cannot reach its
    /// database, 400 for a query the store refused, 500 otherwise.
    static func apiError(for error: SampleStoreError, logger: Logger) -> APIError {
        switch error.code {
        case .overloaded, .closed:
            return APIError(
                .serviceUnavailable,
                code: "overloaded",
                message: "the sample store is busy (\(error.message)); retry later",
                headers: [.retryAfter: "1"]
            )
        case .unavailable:
            logger.warning("Sample store unavailable", metadata: ["error": "\(error)"])
            return APIError(
                .serviceUnavailable,
                code: "unavailable",
                message: "the database cannot be reached (\(error.message)); nothing was stored; retry later",
                headers: [.retryAfter: "1"]
            )
        case .invalidQuery, .invalidSample:
            return APIError(.badRequest, code: "bad_request", message: error.message)
        default:
            logger.error("Sample store failed", metadata: ["error": "\(error)"])
            return APIError(
                .internalServerError,
                code: "internal",
                message: "the sample store failed; see the node's log"
            )
        }
    }
}
