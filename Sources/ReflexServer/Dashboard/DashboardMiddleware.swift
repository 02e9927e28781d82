import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReflexNode

/// Serves the dashboard's embedded files (``DashboardAssets``) at `/` and `/assets/...`, before
/// token authentication: the page and its scripts are public, the data they load needs a token.
///
/// Answers `GET` and `HEAD` with `ETag` and `Cache-Control: no-cache` (the browser revalidates
/// and gets `304 Not Modified` while the binary is unchanged), a strict content security policy
/// (everything from this origin, nothing from elsewhere), and a JSON 404 for an unknown file.
/// Every other request passes through.
struct DashboardMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    /// Only this origin: the dashboard never loads anything from the internet.
    static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard request.method == .get || request.method == .head, DashboardAssets.isStaticPath(path) else {
            return try await next(request, context)
        }
        guard let (asset, body) = DashboardAssets.asset(forURLPath: path) else {
            throw APIError(
                .notFound,
                code: "not_found",
                message: "no dashboard file '\(path.prefix(200))'"
            )
        }
        var headers: HTTPFields = [
            .eTag: asset.etag,
            .cacheControl: "no-cache",
            .contentType: asset.contentType,
            .xContentTypeOptions: "nosniff",
            .contentSecurityPolicy: Self.contentSecurityPolicy,
        ]
        if let match = request.headers[.ifNoneMatch], Self.matches(match, etag: asset.etag) {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(body.readableBytes)
        if request.method == .head {
            return Response(status: .ok, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// Whether an `If-None-Match` header names `etag` (or is `*`).
    static func matches(_ header: String, etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            let tag = candidate.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag || tag == "W/" + etag
        }
    }
}
