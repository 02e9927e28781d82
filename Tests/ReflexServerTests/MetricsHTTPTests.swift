import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ReflexCore
import ReflexServer
import ReflexStore
import Synchronization
import Testing

/// `GET /metrics` and `GET /health` through the router: access, route templates as labels, the
/// commit latency and store refusals counted by ``InstrumentedSampleStore``, 503 when failing.
@Suite("HTTP API: /metrics and /health", .timeLimit(.minutes(2)))
struct MetricsHTTPTests {
    typealias F = HTTPTestFixture

    /// Store counters a test sets, for ``HealthMonitor``.
    final class FakeStatistics: Sendable {
        let value = Mutex(IngestStatistics())
    }

    /// A store that refuses every batch with `code`.
    struct RefusingStore: SampleStore {
        let code: SampleStoreError.Code
        func enqueue(_ batch: TelemetryBatch, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
            completion(.failure(SampleStoreError(code: code, message: "refused by the test")))
        }
        func append(_ batch: TelemetryBatch) async throws {
            throw SampleStoreError(code: code, message: "refused by the test")
        }
    }

    static func run(
        metricsPublic: Bool = false,
        _ body: @escaping @Sendable (F, NodeMetrics, FakeStatistics, any TestClientProtocol) async throws -> Void
    ) async throws {
        try await F.run { fixture, _ in
            let metrics = NodeMetrics()
            let statistics = FakeStatistics()
            var configuration = HTTPAPIConfiguration()
            configuration.metricsPublic = metricsPublic
            var api = HTTPAPI(
                stores: HTTPAPI.Stores(
                    samples: InstrumentedSampleStore(base: fixture.store, metrics: metrics),
                    queries: fixture.store,
                    deadLetters: fixture.store
                ),
                registry: HTTPAPI.Registry(devices: fixture.registry, tokens: fixture.registry),
                configuration: configuration,
                now: { F.now },
                logger: F.logger
            )
            api.observability = NodeObservability(
                metrics: metrics,
                health: HealthMonitor(store: { statistics.value.withLock { $0 } }, now: { F.now })
            )
            try await Application(router: api.makeRouter()).test(.router) { client in
                try await body(fixture, metrics, statistics, client)
            }
        }
    }

    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    @Test("/metrics needs a viewer token unless http.metricsPublic; it serves the text format")
    func access() async throws {
        try await Self.run { fixture, _, _, client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get, headers: F.bearer(fixture.viewerToken)) {
                #expect($0.status == .ok)
                #expect($0.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(Self.text($0).contains("# TYPE reflex_store_commit_latency_seconds histogram"))
            }
        }
        try await Self.run(metricsPublic: true) { _, _, _, client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/devices", method: .get) { #expect($0.status == .unauthorized) }
        }
    }

    @Test("requests count by route template and status class, never by the path sent")
    func routeTemplates() async throws {
        try await Self.run { fixture, metrics, _, client in
            let headers = F.bearer(fixture.viewerToken)
            try await client.execute(uri: "/api/v1/devices/pump-17", method: .get, headers: headers) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/no/such/route", method: .get, headers: headers) { _ in }
            let text = metrics.render()
            #expect(text.contains("reflex_http_requests_total{route=\"/api/v1/devices/{id}\",status=\"4xx\"} 1"))
            #expect(text.contains("reflex_http_requests_total{route=\"other\",status=\"4xx\"} 1"))
            #expect(!text.contains("pump-17"))
        }
    }

    @Test("a committed write is timed in the commit-latency histogram")
    func commitLatency() async throws {
        try await Self.run { fixture, metrics, _, client in
            try await client.execute(
                uri: "/api/v2/write?precision=ms",
                method: .post,
                headers: F.bearer(fixture.operatorToken),
                body: ByteBuffer(string: "m,device=press-1 a=1,b=2 \(F.now)\n")
            ) { #expect($0.status == .noContent) }
            let text = metrics.render()
            #expect(text.contains("reflex_store_commit_latency_seconds_count 1"))
            #expect(text.contains("reflex_http_requests_total{route=\"/api/v2/write\",status=\"2xx\"} 1"))
        }
    }

    @Test(
        "a refused batch counts under its reason, messages and samples",
        arguments: [
            (SampleStoreError.Code.overloaded, "overloaded"), (.closed, "closed"), (.database, "store_failure"),
        ]
    )
    func refusals(code: SampleStoreError.Code, reason: String) async throws {
        let metrics = NodeMetrics()
        let store = InstrumentedSampleStore(base: RefusingStore(code: code), metrics: metrics)
        let metric = try MetricName(validating: "a")
        let batch = TelemetryBatch(
            device: try DeviceID(validating: "press-1"),
            samples: [Sample(metric: metric, timestamp: 1, value: 1), Sample(metric: metric, timestamp: 2, value: 2)]
        )
        await #expect(throws: SampleStoreError.self) { try await store.append(batch) }
        let text = metrics.render()
        #expect(text.contains("reflex_ingest_refused_messages_total{reason=\"\(reason)\"} 1"))
        #expect(text.contains("reflex_ingest_refused_samples_total{reason=\"\(reason)\"} 2"))
        #expect(text.contains("reflex_store_commit_latency_seconds_count 0"))
    }

    @Test("/health answers 503 while the store's latest commit failed, 200 (degraded) once one succeeds")
    func healthStatus() async throws {
        try await Self.run { _, _, statistics, client in
            try await client.execute(uri: "/health", method: .get) {
                #expect($0.status == .ok)
                let body = try F.json($0)
                #expect(body["status"] as? String == "ok")
                #expect(body["degraded"] == nil)
            }
            statistics.value.withLock {
                $0.lastCommitAt = F.now - 5_000
                $0.lastFailedCommitAt = F.now - 1_000
                $0.failedCommits = 4
            }
            try await client.execute(uri: "/health", method: .get) {
                #expect($0.status == .serviceUnavailable)
                let body = try F.json($0)
                #expect(body["status"] as? String == "failing")
                let checks = body["checks"] as? [[String: Any]] ?? []
                let store = checks.first { $0["part"] as? String == "store" }
                #expect(store?["state"] as? String == "failing")
                #expect((store?["detail"] as? String)?.contains("4 failed commits") == true)
            }
            statistics.value.withLock { $0.lastCommitAt = F.now - 100 }
            try await client.execute(uri: "/health", method: .get) {
                #expect($0.status == .ok)
                let status = try F.json($0)["status"] as? String
                #expect(status == "degraded")
            }
        }
    }
}
