import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReflexCore
import ReflexNode
import ReflexStore

/// What `GET /metrics` and `GET /health` read in a node.
public struct NodeObservability: Sendable {
    /// The node's metrics registry and its scrape-time sources.
    public let metrics: NodeMetrics
    /// The node's health checks.
    public let health: HealthMonitor

    /// - Parameters: see the properties.
    public init(metrics: NodeMetrics, health: HealthMonitor) {
        self.metrics = metrics
        self.health = health
    }
}

/// The body of `GET /health` (see `docs/api.md`).
struct HealthBody: Encodable {
    var status: HealthState
    var version: String
    /// Every part with its state and detail.
    var checks: [HealthCheckResult]
    /// The parts that are not `ok`, as `{part, reason}` (the shape `/health` had before the
    /// checks; absent when everything is `ok`).
    var degraded: [Problem]?

    struct Problem: Encodable {
        var part: String
        var reason: String
    }

    init(report: HealthReport) {
        status = report.status
        version = ReflexVersion.current
        checks = report.checks
        let problems = report.checks.filter { $0.state != .ok }.map { Problem(part: $0.part, reason: $0.detail) }
        degraded = problems.isEmpty ? nil : problems
    }
}

extension HTTPAPI {
    /// `GET /health` (public) and `GET /metrics` (viewer token, or public with `http.metricsPublic`).
    func addObservabilityRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.get("/health") { _, _ -> Response in
            let report = api.healthReport()
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.cacheControl] = "no-store"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = (try? encoder.encode(HealthBody(report: report))) ?? Data()
            return Response(
                // Load balancers drain a node that answers 503; degraded still serves.
                status: report.status == .failing ? .serviceUnavailable : .ok,
                headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        router.get("/metrics") { _, context -> Response in
            if !api.configuration.metricsPublic { _ = try context.require(.viewer) }
            guard let metrics = api.observability?.metrics else {
                throw APIError(.notFound, code: "not_found", message: "this API has no metrics registry")
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            headers[.cacheControl] = "no-store"
            return Response(
                status: .ok,
                headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render(http: api.connectionStatistics)))
            )
        }
    }

    /// The node's health checks, or (an API built without them, as in tests of other routes)
    /// detection's lag alone, the rule `/health` had before the checks.
    func healthReport() -> HealthReport {
        if let health = observability?.health { return health.report() }
        guard let reason = detection?.degradation else { return HealthReport(checks: []) }
        return HealthReport(checks: [.init(part: "detection", state: .degraded, detail: reason)])
    }
}
