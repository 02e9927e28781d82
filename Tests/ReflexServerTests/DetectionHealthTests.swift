import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

/// `/health` and the stats' `lag` while committed batches wait for detection: degraded past
/// `detection.maxLag` (HTTP 200), ok again once detection has caught up.
@Suite("HTTP API: detection lag in /health and /detection/stats", .timeLimit(.minutes(2)))
struct DetectionHealthTests {
    typealias F = DetectionFixture

    @Test("committed batches waiting longer than detection.maxLag make /health degraded; catching up clears it")
    func degradedUntilCaughtUp() async throws {
        try await F.run(logsCommits: true) { fixture in
            var configuration = DetectionConfiguration()
            configuration.maxLag = .seconds(60)
            let service = fixture.service(configuration)
            let token = try await fixture.registry.createOperatorToken(name: "view", role: .viewer).token
            let api = HTTPAPI(
                stores: HTTPAPI.Stores(samples: fixture.store, queries: fixture.store, deadLetters: fixture.store),
                registry: HTTPAPI.Registry(devices: fixture.registry, tokens: fixture.registry),
                pipeline: HTTPAPI.Pipeline(detection: service),
                logger: F.logger
            )
            // Committed while the service is not running: 20 batches wait.
            for index in 0..<20 {
                try await fixture.store.append(F.batch([Double(index)], from: F.start + Int64(index) * 1_000))
            }
            try await Application(router: api.makeRouter()).test(.router) { client in
                fixture.clock.set(F.start + 30_000)
                try await client.execute(uri: "/health", method: .get) {
                    #expect($0.status == .ok)
                    let body = try HTTPTestFixture.json($0)
                    #expect(body["status"] as? String == "ok", "30 s behind, limit 60 s")
                }
                fixture.clock.set(F.start + 90_000)
                try await client.execute(uri: "/health", method: .get) {
                    #expect($0.status == .ok)
                    let body = try HTTPTestFixture.json($0)
                    #expect(body["status"] as? String == "degraded")
                    let problems = body["degraded"] as? [[String: Any]] ?? []
                    #expect(problems.first?["part"] as? String == "detection")
                    let reason = problems.first?["reason"] as? String ?? ""
                    #expect(reason.contains("90 s (20 batches) behind ingest"), "\(reason)")
                }
                try await client.execute(
                    uri: "/api/v1/detection/stats",
                    method: .get,
                    headers: HTTPTestFixture.bearer(token)
                ) {
                    let lag = try HTTPTestFixture.json($0)["lag"] as? [String: Any] ?? [:]
                    #expect(lag["batchesBehind"] as? Int == 20)
                    #expect(lag["lastCommitted"] as? Int == 20)
                    #expect(lag["cursor"] as? Int == 0)
                    #expect(lag["maxLagSeconds"] as? Int == 60)
                    #expect((lag["degraded"] as? String)?.contains("behind ingest") == true)
                }
                // Run the service: it catches up from the commit log, and /health is ok again.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await service.run() }
                    defer { group.cancelAll() }
                    let deadline = ContinuousClock.now + .seconds(30)
                    while service.lag.batchesBehind > 0, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    #expect(service.status.counters.samplesReplayed == 20)
                    try await client.execute(uri: "/health", method: .get) {
                        let body = try HTTPTestFixture.json($0)
                        #expect(body["status"] as? String == "ok")
                        #expect(body["degraded"] == nil)
                    }
                }
            }
        }
    }
}
