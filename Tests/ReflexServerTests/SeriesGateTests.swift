import Logging
import NIOCore
import NIOEmbedded
import ReflexCore
import ReflexMQTT
import ReflexNode
import ReflexStore
import Synchronization
import Testing

@testable import ReflexServer

/// The series limits on the MQTT ingest path: what is stored, what is acknowledged, the dead
/// letter, the counters and the breach reported for the alarm.
@Suite struct SeriesGateTests {
    let now: Int64 = 1_764_145_200_000

    func publish(_ payload: String) -> InterceptedPublish {
        InterceptedPublish(
            clientID: "c",
            identity: ClientIdentity(principal: "pump-1"),
            topic: "devices/pump-1/telemetry",
            payload: ByteBuffer(string: payload),
            qos: .atLeastOnce,
            retain: false,
            contentType: nil
        )
    }

    func gate(_ limits: SeriesLimits, clock: DetectionFixture.WallClock = .init()) -> SeriesGate {
        SeriesGate(
            limits: limits,
            existing: [],
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            now: { clock.now },
            howToRaise: SettingKey.waysToSet(of:)
        )
    }

    @Test("a partly admitted message stores the rest and is acknowledged; refused samples become one dead letter")
    func partial() throws {
        let store = FakeStore()
        let gate = gate(SeriesLimits(maxSeriesPerDevice: 2))
        let ingestor = TelemetryIngestor(store: store, deadLetters: store, seriesGate: gate, now: { [now] in now })
        let loop = EmbeddedEventLoop()
        let disposition = ingestor.intercept(publish(#"{"values": {"a": 1, "b": 2, "c": 3}}"#), eventLoop: loop)
        guard case .acceptAfter = disposition else {
            Issue.record("expected acceptance, got \(disposition)")
            return
        }
        let stored = try #require(store.batches.withLock { $0.first })
        #expect(stored.samples.map(\.metric.rawValue) == ["a", "b"])
        let letter = try #require(store.letters.withLock { $0.first })
        #expect(letter.reason.hasPrefix("series_limit: 1 sample of new metrics 'c' refused"))
        #expect(letter.reason.contains("limit 2") && letter.reason.contains("REFLEX_INGEST_MAX_SERIES_PER_DEVICE"))
        #expect(String(decoding: letter.payload, as: UTF8.self) == #"[{"ts": 1764145200000, "values": {"c": 3.0}}]"#)
        // The refused payload is telemetry the topic accepts again.
        let replay = try JSONTelemetryDecoder.decode(letter.payload, device: stored.device, receivedAt: now)
        #expect(replay.samples.map(\.metric.rawValue) == ["c"])
        #expect(ingestor.statistics.samplesOverLimit == 1)
        #expect(ingestor.statistics.rejectedMessages == 0)
        #expect(gate.counters.messagesPartlyRefused == 1 && gate.counters.series == 2)
        store.complete(0, .success(()))
        loop.run()
    }

    @Test("a message with nothing admitted is refused with 0x97 and not stored")
    func nothingAdmitted() {
        let store = FakeStore()
        let gate = gate(SeriesLimits(maxSeriesPerDevice: 1))
        let ingestor = TelemetryIngestor(store: store, deadLetters: store, seriesGate: gate, now: { [now] in now })
        let loop = EmbeddedEventLoop()
        _ = ingestor.intercept(publish(#"{"values": {"a": 1}}"#), eventLoop: loop)
        store.complete(0, .success(()))
        loop.run()
        let disposition = ingestor.intercept(publish(#"{"values": {"b": 1}}"#), eventLoop: loop)
        guard case .reject(let code) = disposition else {
            Issue.record("expected a refusal, got \(disposition)")
            return
        }
        #expect(code == .quotaExceeded)
        #expect(store.batches.withLock { $0.count } == 1)
        #expect(ingestor.statistics.rejectedMessages == 1)
        #expect(gate.counters.messagesRefused == 1)
        #expect(gate.counters.refusedByLimit[SeriesAdmission.Limit.seriesPerDevice] == 1)
    }

    @Test("a breach is reported at most once a minute per device and limit")
    func breachesAreThrottled() async {
        let clock = DetectionFixture.WallClock()
        clock.set(now)
        let gate = gate(SeriesLimits(maxSeriesPerDevice: 1), clock: clock)
        let device = try! DeviceID(validating: "pump-1")
        func batch(_ name: String) -> TelemetryBatch {
            TelemetryBatch(
                device: device,
                samples: [Sample(metric: try! MetricName(validating: name), timestamp: 0, value: 1)]
            )
        }
        _ = gate.admit(batch("a"))
        for name in ["b", "c", "d"] { #expect(gate.admit(batch(name)).reason != nil) }
        clock.set(now + 60_000)
        _ = gate.admit(batch("e"))
        var iterator = gate.breaches.makeAsyncIterator()
        let first = await iterator.next()
        let second = await iterator.next()
        #expect(first?.alarmType == "series_limit.seriesPerDevice")
        #expect(first?.device == device && first?.value == 1)
        #expect(first?.at == now)
        #expect(second?.limit == .seriesPerDevice && second?.at == now + 60_000)
        #expect(gate.counters.samplesRefused == 4)
    }
}
