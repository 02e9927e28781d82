import HTTPTypes
import Hummingbird
import Prometheus

/// Counts every HTTP request by route template and status class
/// (`reflex_http_requests_total{route="/api/v1/devices/{id}",status="2xx"}`).
///
/// The route label is the router's template, never the path a client sent, so it is bounded by
/// the routes the API registers; requests no route matched (404s, the dashboard's own files)
/// count as `other`.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    let metrics: NodeMetrics

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            let response = try await next(request, context)
            count(route: context.endpointPath, status: response.status.code)
            return response
        } catch {
            count(route: context.endpointPath, status: (error as? any HTTPResponseError)?.status.code ?? 500)
            throw error
        }
    }

    private func count(route: String?, status: Int) {
        let template = route.flatMap { $0 == "NotFound" ? nil : $0 } ?? "other"
        metrics.counter("reflex_http_requests_total", [("route", template), ("status", Self.statusClass(status))])
            .increment()
    }

    /// `1xx` … `5xx` (anything else counts as `5xx`).
    static func statusClass(_ code: Int) -> String {
        switch code {
        case 100..<200: "1xx"
        case 200..<300: "2xx"
        case 300..<400: "3xx"
        case 400..<500: "4xx"
        default: "5xx"
        }
    }
}
