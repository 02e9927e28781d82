import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

@Suite("HTTP API: detection routes", .timeLimit(.minutes(2)))
struct DetectionHTTPTests {
    typealias F = DetectionFixture

    /// Runs `body` with a detection service that has scored `values` of pump-1/vibration.
    static func run(
        values: [Double] = F.signal(count: 120, spikeAt: 100),
        detection enabled: Bool = true,
        _ body: @escaping @Sendable (DetectionService, String, any TestClientProtocol) async throws -> Void
    ) async throws {
        try await F.run { fixture in
            var configuration = DetectionConfiguration()
            configuration.rules = [DetectionRule(metric: F.vibration, minimum: 0, maximum: 45)]
            let service = fixture.service(configuration)
            _ = try await fixture.registry.addDevice(id: F.device, type: "pump", labels: [:])
            try await fixture.ingest(F.batch(values), into: service)
            await service.flushPoints()
            _ = try await fixture.waitForScores("anomaly:vibration", count: values.count)
            let token = try await fixture.registry.createOperatorToken(name: "view", role: .viewer).token
            let api = HTTPAPI(
                stores: HTTPAPI.Stores(samples: fixture.store, queries: fixture.store, deadLetters: fixture.store),
                registry: HTTPAPI.Registry(devices: fixture.registry, tokens: fixture.registry),
                pipeline: HTTPAPI.Pipeline(detection: enabled ? service : nil),
                now: { F.start + Int64(values.count) * 1_000 },
                logger: F.logger
            )
            try await Application(router: api.makeRouter()).test(.router) { client in
                try await body(service, token, client)
            }
        }
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try HTTPTestFixture.json(response)
    }

    @Test("GET /devices/{id}/anomalies gives the latest verdict per metric with its band")
    func latest() async throws {
        try await Self.run { _, token, client in
            try await client.execute(
                uri: "/api/v1/devices/pump-1/anomalies",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                #expect($0.status == .ok)
                let body = try Self.json($0)
                #expect(body["device"] as? String == "pump-1")
                let metrics = body["metrics"] as? [[String: Any]] ?? []
                #expect(metrics.count == 1)
                #expect(metrics.first?["metric"] as? String == "vibration")
                #expect(metrics.first?["ts"] as? Int64 == F.start + 119_000)
                for key in ["value", "score", "expected", "lower", "upper", "deviation"] {
                    #expect(metrics.first?[key] is Double || metrics.first?[key] is Int, "\(key)")
                }
                #expect(metrics.first?["component"] is String)
            }
            try await client.execute(
                uri: "/api/v1/devices/ghost/anomalies",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/devices/pump-1/anomalies", method: .get) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test("GET /devices/{id}/anomalies/{metric} gives points with score and band; the spike stands out")
    func history() async throws {
        try await Self.run { _, token, client in
            try await client.execute(
                uri: "/api/v1/devices/pump-1/anomalies/vibration?from=\(F.start)&to=\(F.start + 200_000)",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                #expect($0.status == .ok)
                let body = try Self.json($0)
                #expect(body["metric"] as? String == "vibration")
                #expect(body["stepMs"] is NSNull)
                let points = body["points"] as? [[String: Any]] ?? []
                #expect(points.count == 120)
                let scores = points.map { ($0["score"] as? Double) ?? 0 }
                #expect(scores.firstIndex(of: scores.max() ?? 0) == 100)
                #expect(points[100]["ts"] as? Int64 == F.start + 100_000)
                #expect(points[100]["expected"] != nil && points[100]["lower"] != nil && points[100]["upper"] != nil)
            }
            // Relative `from`, default `to` (now): the last 30 s.
            try await client.execute(
                uri: "/api/v1/devices/pump-1/anomalies/vibration?from=30s",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                let points = try Self.json($0)["points"] as? [[String: Any]] ?? []
                #expect(points.count == 30)
            }
            // More points than `limit`: buckets with the max score.
            try await client.execute(
                uri: "/api/v1/devices/pump-1/anomalies/vibration?from=\(F.start)&to=\(F.start + 120_000)&limit=12",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                let body = try Self.json($0)
                #expect(body["stepMs"] as? Int64 == 10_000)
                let points = body["points"] as? [[String: Any]] ?? []
                #expect(points.count == 12)
                let scores = points.map { ($0["score"] as? Double) ?? 0 }
                #expect(scores.firstIndex(of: scores.max() ?? 0) == 10)
                #expect(points[10]["count"] as? Int == 10)
            }
            try await client.execute(
                uri: "/api/v1/devices/pump-1/anomalies/vibration?from=soon",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                #expect($0.status == .badRequest)
                let parsed = try HTTPTestFixture.error($0)
                #expect(parsed.message.contains("'from'"))
            }
        }
    }

    @Test("the score series is readable through the raw series route")
    func scoreSeries() async throws {
        try await Self.run { _, token, client in
            try await client.execute(
                uri: "/api/v1/devices/pump-1/series/anomaly:vibration/raw?from=\(F.start)",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                #expect($0.status == .ok)
                let samples = try Self.json($0)["samples"] as? [Any]
                #expect(samples?.count == 120)
            }
        }
    }

    @Test("GET /data-quality lists active and recent conditions; GET /detection/stats counts")
    func dataQualityAndStats() async throws {
        var values = F.signal(count: 120)
        values[50] = 99
        try await Self.run(values: values) { service, token, client in
            try await client.execute(
                uri: "/api/v1/data-quality?device=pump-1",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                #expect($0.status == .ok)
                let body = try Self.json($0)
                #expect((body["active"] as? [Any])?.isEmpty == true)
                let recent = body["recent"] as? [[String: Any]] ?? []
                #expect(recent.map { $0["kind"] as? String } == ["outOfRange", "outOfRange"])
                #expect(recent.map { $0["active"] as? Bool } == [false, true])
                #expect(recent.last?["detail"] as? String == "value 99 is above the physical range 0…45")
                #expect(recent.last?["device"] as? String == "pump-1")
                #expect(recent.last?["metric"] as? String == "vibration")
                #expect(recent.last?["ts"] as? Int64 == F.start + 50_000)
            }
            await service.checkpoint()
            try await client.execute(
                uri: "/api/v1/detection/stats",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                let body = try Self.json($0)
                #expect(body["enabled"] as? Bool == true)
                #expect(body["series"] as? Int == 1)
                #expect(body["samplesScored"] as? Int == 120)
                #expect(body["dropped"] as? Int == 0)
                #expect(body["lastCheckpointAt"] as? Int64 == F.start)
            }
        }
    }

    @Test("with detection off the routes say so")
    func off() async throws {
        try await Self.run(detection: false) { _, token, client in
            try await client.execute(
                uri: "/api/v1/devices/pump-1/anomalies",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                #expect($0.status == .notFound)
                let parsed = try HTTPTestFixture.error($0)
                #expect(parsed.code == "detection_off")
            }
            try await client.execute(
                uri: "/api/v1/detection/stats",
                method: .get,
                headers: HTTPTestFixture.bearer(token)
            ) {
                let body = try Self.json($0)
                #expect(body["enabled"] as? Bool == false)
                #expect(body["lastCheckpointAt"] is NSNull)
            }
        }
    }
}
