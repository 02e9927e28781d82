import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReflexCore
import Synchronization
import Testing

@testable import ReflexNode
@testable import ReflexServer

@Suite("GET /api/v1/events: the dashboard's live feed", .timeLimit(.minutes(1)))
struct EventsTests {
    typealias F = DashboardTestFixture

    static func batch(_ device: String, _ samples: [(String, Int64, Double)]) throws -> TelemetryBatch {
        TelemetryBatch(
            device: try DeviceID(validating: device),
            samples: try samples.map { Sample(metric: try MetricName(validating: $0.0), timestamp: $0.1, value: $0.2) }
        )
    }

    /// Parsed SSE frames: (event name, data JSON object); comments are left out.
    static func frames(_ text: String) throws -> [(String, [String: Any])] {
        try text.components(separatedBy: "\n\n").compactMap { block -> (String, [String: Any])? in
            var name: String?
            var data: String?
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            guard let name, let data else { return nil }
            let object = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
            return (name, object ?? [:])
        }
    }

    /// Waits (bounded) until `condition` holds, checking every few milliseconds.
    static func eventually(_ condition: @Sendable () -> Bool) async throws {
        for _ in 0..<2_000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition())
    }

    /// Opens the feed at `uri`, runs `publish` once the client has subscribed, then ends the
    /// broadcasts (as a node shutdown does) and returns the whole response.
    static func stream(
        _ fixture: F,
        _ client: any TestClientProtocol,
        uri: String = "/api/v1/events",
        publish: @escaping @Sendable () async throws -> Void
    ) async throws -> TestResponse {
        try await withThrowingTaskGroup(of: TestResponse?.self) { group in
            group.addTask {
                try await client.execute(
                    uri: uri,
                    method: .get,
                    headers: HTTPTestFixture.bearer(fixture.base.viewerToken)
                ) {
                    $0
                }
            }
            group.addTask {
                try await eventually { fixture.events.telemetry.subscriberCount == 1 }
                try await publish()
                fixture.events.finish()
                return nil
            }
            var response: TestResponse?
            for try await result in group { if let result { response = result } }
            return try #require(response)
        }
    }

    @Test(
        "telemetry, status and anomaly events arrive as SSE frames in the contract's shape; the stream ends with the broadcasts"
    )
    func frames() async throws {
        try await F.run { fixture, client in
            let response = try await Self.stream(fixture, client) {
                fixture.events.telemetry.publish(
                    try Self.batch(
                        "pump-1",
                        [("temperature", 1_000, 71.5), ("vibration", 1_000, 0.3), ("temperature", 2_000, 72)]
                    )
                )
                fixture.events.deviceStatus.publish(
                    DeviceStatusChange(
                        device: try DeviceID(validating: "pump-1"),
                        isOnline: false,
                        timestamp: 3_000,
                        reason: "will"
                    )
                )
                let series = SeriesKey(
                    device: try DeviceID(validating: "pump-1"),
                    metric: try MetricName(validating: "vibration")
                )
                fixture.events.analytics.publish(
                    .anomaly(
                        AnomalyEvent(
                            series: series,
                            timestamp: 4_000,
                            value: 3.9,
                            anomaly: AnomalyScore(
                                score: 0.97,
                                explanation: AnomalyExplanation(
                                    expected: 3.1,
                                    lower: 2.5,
                                    upper: 3.7,
                                    component: "level",
                                    deviation: 0.8
                                )
                            )
                        )
                    )
                )
            }
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream; charset=utf-8")
            #expect(response.headers[.cacheControl] == "no-cache")
            let text = String(buffer: response.body)
            #expect(text.hasPrefix("retry: 3000\n"))
            // Each broadcast keeps its order; different broadcasts may interleave.
            let frames = try Self.frames(text)
            #expect(frames.map(\.0).sorted() == ["anomaly", "status", "telemetry", "telemetry"])
            let telemetry = frames.filter { $0.0 == "telemetry" }.map(\.1)
            let status = try #require(frames.first { $0.0 == "status" }?.1)
            let anomaly = try #require(frames.first { $0.0 == "anomaly" }?.1)
            #expect(telemetry[0]["device"] as? String == "pump-1")
            #expect(telemetry[0]["ts"] as? Int == 1_000)
            #expect(telemetry[0]["values"] as? [String: Double] == ["temperature": 71.5, "vibration": 0.3])
            #expect(telemetry[1]["values"] as? [String: Double] == ["temperature": 72])
            #expect(status["online"] as? Bool == false)
            #expect(status["reason"] as? String == "will")
            #expect(anomaly["metric"] as? String == "vibration")
            #expect(anomaly["score"] as? Double == 0.97)
            #expect(anomaly["lower"] as? Double == 2.5)
            #expect(anomaly["upper"] as? Double == 3.7)
            #expect(anomaly["component"] as? String == "level")
            #expect(fixture.events.telemetry.subscriberCount == 0)
        }
    }

    @Test("?device= keeps only that device's events")
    func deviceFilter() async throws {
        try await F.run { fixture, client in
            let response = try await Self.stream(fixture, client, uri: "/api/v1/events?device=pump-2") {
                fixture.events.telemetry.publish(try Self.batch("pump-1", [("t", 1, 1)]))
                fixture.events.telemetry.publish(try Self.batch("pump-2", [("t", 2, 2)]))
                fixture.events.telemetry.publish(try Self.batch("pump-3", [("t", 3, 3)]))
            }
            let frames = try Self.frames(String(buffer: response.body))
            #expect(frames.map { $0.1["device"] as? String } == ["pump-2"])
        }
    }

    @Test("a heartbeat comment is written while nothing happens")
    func heartbeat() async throws {
        let built = APIBox()
        let makeAPI: @Sendable (F) -> HTTPAPI = { fixture in
            var api = fixture.api()
            api.liveFeedHeartbeat = .milliseconds(20)
            built.api.withLock { $0 = api }
            return api
        }
        try await F.run(makeAPI: makeAPI) { fixture, client in
            let response = try await Self.stream(fixture, client) {
                try await Self.eventually { (built.api.withLock { $0 }?.liveFeedStatistics.heartbeats ?? 0) >= 2 }
            }
            let text = String(buffer: response.body)
            #expect(text.contains(": heartbeat\n\n"))
            let frames = try Self.frames(text)
            #expect(frames.isEmpty)
        }
    }

    @Test("no token is 401, a bad device filter 400, and a node without events 404")
    func errors() async throws {
        try await F.run { fixture, client in
            try await client.execute(uri: "/api/v1/events", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/api/v1/events?device=a%20b",
                method: .get,
                headers: HTTPTestFixture.bearer(fixture.base.viewerToken)
            ) { #expect($0.status == .badRequest) }
        }
        let withoutEvents: @Sendable (F) -> HTTPAPI = { $0.api(withEvents: false) }
        try await F.run(makeAPI: withoutEvents) { fixture, client in
            try await client.execute(
                uri: "/api/v1/events",
                method: .get,
                headers: HTTPTestFixture.bearer(fixture.base.viewerToken)
            ) { #expect($0.status == .notFound) }
        }
    }

    @Test("a data-quality event and a non-finite score encode as the contract says")
    func encoding() throws {
        let series = SeriesKey(device: try DeviceID(validating: "p"), metric: try MetricName(validating: "m"))
        let quality = DashboardEvent(
            .dataQuality(
                DataQualityEvent(series: series, kind: .flatline, timestamp: 5, isActive: true, detail: "stuck at 3")
            )
        )
        #expect(quality.name == "dataQuality")
        #expect(
            quality.serverSentEvents()
                == "event: dataQuality\ndata: {\"active\":true,\"detail\":\"stuck at 3\",\"device\":\"p\",\"kind\":\"flatline\",\"metric\":\"m\",\"ts\":5}\n\n"
        )
        let anomaly = DashboardEvent.anomaly(
            AnomalyEvent(
                series: series,
                timestamp: 6,
                value: 1,
                anomaly: AnomalyScore(
                    score: .nan,
                    explanation: AnomalyExplanation(
                        expected: nil,
                        lower: nil,
                        upper: nil,
                        component: "warmup",
                        deviation: 0
                    )
                )
            )
        )
        let frames = try Self.frames(anomaly.serverSentEvents())
        #expect(frames.count == 1)
        #expect(frames[0].1["score"] is NSNull)
        #expect(frames[0].1["expected"] is NSNull)
    }
}

/// Keeps the API a test built, to read its live-feed statistics.
private final class APIBox: Sendable {
    let api = Mutex<HTTPAPI?>(nil)
}
