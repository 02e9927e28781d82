import Foundation
import ReflexAnalytics
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

@Suite("Live detection service", .timeLimit(.minutes(2)))
struct DetectionServiceTests {
    typealias F = DetectionFixture

    @Test("every sample is scored, stored as anomaly:<metric> with its band, and published")
    func scoresStoredAndPublished() async throws {
        try await F.run { fixture in
            let events = NodeEvents()
            let published = events.analytics.subscribe(bufferSize: 10_000)
            let service = fixture.service(events: events)
            let values = F.signal(count: 200, spikeAt: 150)
            try await fixture.ingest(F.batch(values), into: service)
            await service.flushPoints()

            let scores = try await fixture.waitForScores("anomaly:vibration", count: 200)
            #expect(scores.map(\.timestamp) == (0..<200).map { F.start + Int64($0) * 1_000 })
            #expect(scores.allSatisfy { (0...1).contains($0.value) })
            let spike = scores[150].value
            let normal = scores[100..<150].map(\.value).max() ?? 1
            #expect(spike > 0.5)
            #expect(spike > normal)

            let key = SeriesKey(device: F.device, metric: F.vibration)
            let band = try await fixture.store.anomalyPoints(key, from: 0, to: Int64.max / 2, limit: 1_000)
            #expect(band.count == 200)
            #expect(band[150].value == values[150])
            #expect(band[150].score == spike)
            #expect(band[150].expected != nil && band[150].lower != nil && band[150].upper != nil)

            var anomalies: [AnomalyEvent] = []
            for await event in published {
                if case .anomaly(let anomaly) = event { anomalies.append(anomaly) }
                if anomalies.count == 200 { break }
            }
            #expect(anomalies.map(\.score) == scores.map(\.value))
            #expect(service.status.latest(device: F.device)[F.vibration]?.timestamp == F.start + 199_000)
            #expect(service.status.counters.samplesScored == 200)
            #expect(service.status.seriesCount == 1)
        }
    }

    @Test("each scored sample is published as one anomaly event, in sample order, when process returns")
    func publishesOneAnomalyPerSample() async throws {
        try await F.run { fixture in
            let analytics = RecordingEventChannel<AnalyticsEvent>()
            let service = fixture.service(events: NodeEvents(analytics: analytics))
            let values = F.signal(count: 40)
            await service.process(F.batch(Array(values[..<25])))
            #expect(analytics.published.count == 25)
            await service.process(F.batch(Array(values[25...]), from: F.start + 25_000))

            let anomalies = analytics.published.compactMap { event -> AnomalyEvent? in
                guard case .anomaly(let anomaly) = event else { return nil }
                return anomaly
            }
            #expect(anomalies.count == analytics.published.count, "a regular signal has no data-quality events")
            #expect(anomalies.map(\.timestamp) == (0..<40).map { F.start + Int64($0) * 1_000 })
            #expect(anomalies.map(\.value) == values)
            #expect(anomalies.allSatisfy { $0.series == SeriesKey(device: F.device, metric: F.vibration) })
            #expect(service.status.counters.anomalyEvents == 40)
        }
    }

    @Test("score series are not scored again, and disabled series are not scored")
    func skipsScoresAndDisabled() async throws {
        try await F.run { fixture in
            var configuration = DetectionConfiguration()
            configuration.rules = [DetectionRule(metric: try MetricName(validating: "setpoint"), isEnabled: false)]
            let service = fixture.service(configuration)
            let setpoint = try MetricName(validating: "setpoint")
            let score = try MetricName(validating: "anomaly:vibration")
            await service.process(F.batch([1, 2, 3], metric: setpoint))
            await service.process(F.batch([0.1, 0.2], metric: score))
            #expect(service.status.counters.samplesScored == 0)
            #expect(service.status.seriesCount == 1)  // setpoint: monitored for data quality only
        }
    }

    @Test("data-quality events are published, tracked as active and listed as recent")
    func dataQuality() async throws {
        try await F.run { fixture in
            var configuration = DetectionConfiguration()
            configuration.rules = [DetectionRule(deviceType: "pump", metric: F.vibration, minimum: 0, maximum: 50)]
            _ = try await fixture.registry.addDevice(id: F.device, type: "pump", labels: [:])
            let events = NodeEvents()
            let published = events.analytics.subscribe(bufferSize: 10_000)
            let service = fixture.service(configuration, events: events)
            // Regular samples every second, one out of range, then silence.
            var values = F.signal(count: 60)
            values[30] = 80
            fixture.clock.set(F.start + 59_000)
            await service.process(F.batch(values))
            fixture.clock.set(F.start + 59_000 + 40_000)
            service.checkQuality()

            var quality: [DataQualityEvent] = []
            for await event in published {
                if case .dataQuality(let found) = event { quality.append(found) }
                if quality.count == 3 { break }
            }
            #expect(quality.map(\.kind) == [.outOfRange, .outOfRange, .silence])
            #expect(quality.map(\.isActive) == [true, false, true])
            #expect(quality[0].detail == "value 80 is above the physical range 0…50")
            #expect(quality[2].detail == "no sample for 40 s (usual interval 1 s)")
            #expect(service.status.activeQuality().map(\.kind) == [.silence])
            #expect(service.status.recentQuality(device: F.device).map(\.kind) == [.silence, .outOfRange, .outOfRange])
        }
    }

    @Test("a restart in the middle of a stream gives bit-identical scores to an uninterrupted run")
    func restartEquivalence() async throws {
        let values = F.signal(count: 600, spikeAt: 420) + Array(repeating: 3, count: 50)
        let split = 311
        let temperature = try MetricName(validating: "temperature")
        @Sendable func batches(_ range: Range<Int>) -> [TelemetryBatch] {
            // Two series, a few samples per batch, as MQTT would deliver them.
            stride(from: range.lowerBound, to: range.upperBound, by: 7).map { start in
                let end = min(start + 7, range.upperBound)
                var samples: [Sample] = []
                for index in start..<end {
                    let ts = F.start + Int64(index) * 1_000
                    samples.append(Sample(metric: F.vibration, timestamp: ts, value: values[index]))
                    samples.append(Sample(metric: temperature, timestamp: ts, value: 60 + values[index] / 3))
                }
                return TelemetryBatch(device: F.device, samples: samples)
            }
        }
        @Sendable func run(
            _ service: DetectionService,
            _ batches: [TelemetryBatch],
            into events: NodeEvents
        ) async -> [AnalyticsEvent] {
            let stream = events.analytics.subscribe(bufferSize: 100_000)
            for batch in batches { await service.process(batch) }
            events.analytics.finish()
            var collected: [AnalyticsEvent] = []
            for await event in stream { collected.append(event) }
            return collected
        }

        let uninterrupted = try await F.run { fixture in
            let events = NodeEvents()
            return await run(fixture.service(events: events), batches(0..<values.count), into: events)
        }
        let resumed = try await F.run { fixture in
            let firstEvents = NodeEvents()
            let first = fixture.service(events: firstEvents)
            var resumed = await run(first, batches(0..<split), into: firstEvents)
            await first.checkpoint()
            #expect(first.status.counters.checkpoints == 1)

            let secondEvents = NodeEvents()
            let second = fixture.service(events: secondEvents)  // fresh: knows only the store
            await second.restore()
            #expect(second.status.counters.restoredSeries == 2)
            #expect(second.status.latest(device: F.device)[F.vibration] != nil)
            resumed += await run(second, batches(split..<values.count), into: secondEvents)
            return resumed
        }
        #expect(uninterrupted.count == resumed.count)
        #expect(uninterrupted.count >= 2 * values.count)
        // Bit-identical: compare the scores' bit patterns, not just ==.
        func bits(_ events: [AnalyticsEvent]) -> [UInt64] {
            events.compactMap { event -> UInt64? in
                guard case .anomaly(let anomaly) = event else { return nil }
                return anomaly.score.bitPattern
            }
        }
        let (expected, actual) = (bits(uninterrupted), bits(resumed))
        #expect(expected.count == actual.count)
        #expect(Array(zip(expected, actual)).firstIndex { $0.0 != $0.1 } == nil, "first score that differs")
        // And every event, explanations and data-quality events included.
        #expect(Array(zip(uninterrupted, resumed)).firstIndex { $0.0 != $0.1 } == nil, "first event that differs")
    }

    @Test("a checkpoint built with other settings is discarded at restore, and counted")
    func restoreResetsOnConfigurationChange() async throws {
        try await F.run { fixture in
            let first = fixture.service()
            await first.process(F.batch(F.signal(count: 50)))
            await first.checkpoint()
            var changed = DetectionConfiguration()
            changed.defaults.sensitivity = 0.9
            let second = fixture.service(changed)
            await second.restore()
            #expect(second.status.counters.restoredSeries == 0)
            #expect(second.status.counters.statesReset == 1)
        }
    }

    @Test("only series changed since the last checkpoint are written again")
    func incrementalCheckpoint() async throws {
        try await F.run { fixture in
            let service = fixture.service()
            await service.process(F.batch(F.signal(count: 10)))
            await service.checkpoint()
            let before = try await fixture.store.loadDetectorCheckpoints()
            await service.checkpoint()  // nothing changed: nothing written, still a recent checkpoint
            #expect(service.status.counters.checkpoints == 1)
            #expect(service.status.counters.lastCheckpointAt == F.start)
            #expect(try await fixture.store.loadDetectorCheckpoints() == before)
        }
    }
}
