import Foundation
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

/// Detector memory is bounded per node: at most `detection.maxSeries` series get a detector.
@Suite("Detection series cap", .timeLimit(.minutes(2)))
struct DetectionCapTests {
    typealias F = DetectionFixture

    @Test("past detection.maxSeries new series are stored but not scored; tracked ones keep scoring")
    func cap() async throws {
        try await F.run { fixture in
            var configuration = DetectionConfiguration()
            configuration.maxSeries = 2
            let service = fixture.service(configuration)
            let names = ["a", "b", "c", "d"].map { try! MetricName(validating: $0) }
            let batch = TelemetryBatch(
                device: F.device,
                samples: names.map { Sample(metric: $0, timestamp: F.start, value: 1) }
            )
            try await fixture.ingest(batch, into: service)
            #expect(service.status.seriesCount == 2)
            #expect(service.status.counters.samplesScored == 2)
            #expect(service.status.counters.samplesUntracked == 2)
            let next = TelemetryBatch(
                device: F.device,
                samples: names.map { Sample(metric: $0, timestamp: F.start + 1_000, value: 2) }
            )
            try await fixture.ingest(next, into: service)
            #expect(service.status.seriesCount == 2)
            #expect(service.status.counters.samplesScored == 4)
            #expect(service.status.counters.samplesUntracked == 4)
            #expect(Set(service.status.latest(device: F.device).keys.map(\.rawValue)) == ["a", "b"])
        }
    }

    @Test("the cap defaults to the node's series limit and is configurable")
    func configuration() throws {
        let defaults = try NodeConfiguration(yaml: nil, filePath: "", environment: [:], overrides: .init())
        #expect(defaults.detection.maxSeries == 100_000)
        #expect(defaults.seriesLimits == SeriesLimits())
        let set = try NodeConfiguration(
            yaml: nil,
            filePath: "",
            environment: [
                "REFLEX_INGEST_MAX_SERIES": "500", "REFLEX_INGEST_MAX_SERIES_PER_DEVICE": "7",
                "REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE": "3", "REFLEX_DATA_DIR": NSTemporaryDirectory(),
            ],
            overrides: .init()
        )
        #expect(set.seriesLimits == SeriesLimits(maxSeriesPerDevice: 7, maxSeries: 500, maxNewSeriesPerMinute: 3))
        #expect(set.detection.maxSeries == 500)
        var flags = NodeConfiguration.Overrides()
        flags.detectionMaxSeries = "20"
        flags.dataDirectory = NSTemporaryDirectory()
        #expect(
            try NodeConfiguration(yaml: nil, filePath: "", environment: [:], overrides: flags).detection.maxSeries == 20
        )
        #expect(throws: ConfigurationError.self) {
            try NodeConfiguration(
                yaml: nil,
                filePath: "",
                environment: ["REFLEX_INGEST_MAX_SERIES_PER_DEVICE": "0"],
                overrides: .init()
            )
        }
    }
}
