import Foundation
import ReflexCore
import ReflexStore
import Testing

@Suite("Detection tables: checkpoints and anomaly bands", .timeLimit(.minutes(1)))
struct DetectorStoreTests {
    typealias F = SampleStoreFixtures
    static let start: Int64 = 1_764_145_200_000

    @Test("checkpoints are replaced per series and survive reopening the store")
    func checkpoints() async throws {
        try await F.withTemporaryDirectory { directory in
            let a = try F.key("pump-1", "vibration")
            let b = try F.key("pump-1", "temperature")
            try await F.withStore(in: directory) { store in
                try await store.saveDetectorCheckpoints([a: Data("one".utf8), b: Data("two".utf8)], at: Self.start)
                try await store.saveDetectorCheckpoints([a: Data("three".utf8)], at: Self.start + 1)
            }
            let loaded = try await F.withStore(in: directory) { store in try await store.loadDetectorCheckpoints() }
            #expect(loaded == [a: Data("three".utf8), b: Data("two".utf8)])
        }
    }

    @Test("band rows read back raw and per bucket (max score, mean expected, min lower, max upper, last value)")
    func bands() async throws {
        try await F.withStore { store in
            let key = try F.key("pump-1", "vibration")
            let unknown = try F.key("pump-2", "vibration")
            try await store.append(
                TelemetryBatch(
                    device: key.device,
                    samples: (0..<20).map {
                        Sample(metric: key.metric, timestamp: Self.start + Int64($0) * 1_000, value: 1)
                    }
                )
            )
            let points: [AnomalyPoint] = (0..<20).map { (index: Int) -> AnomalyPoint in
                let lower: Double? = index == 3 ? nil : Double(index) - 1
                return AnomalyPoint(
                    timestamp: Self.start + Int64(index) * 1_000,
                    value: Double(index),
                    score: index == 13 ? 0.9 : 0.1,
                    expected: Double(index),
                    lower: lower,
                    upper: Double(index) + 1
                )
            }
            var rows: [(series: SeriesKey, point: AnomalyPoint)] = points.map { (key, $0) }
            rows.append((unknown, points[0]))  // a series the store does not know: skipped
            try await store.appendAnomalyPoints(rows)
            let raw = try await store.anomalyPoints(key, from: Self.start, to: Self.start + 20_000, limit: 100)
            #expect(raw == points)
            #expect(try await store.anomalyPoints(unknown, from: 0, to: .max, limit: 10).isEmpty)
            let buckets = try await store.anomalyBuckets(key, from: Self.start, to: Self.start + 20_000, step: 10_000)
            #expect(buckets.count == 2)
            #expect(buckets[1].timestamp == Self.start + 10_000)
            #expect(buckets[1].score == 0.9)
            #expect(buckets[1].expected == 14.5)
            #expect(buckets[1].lower == 9)
            #expect(buckets[1].upper == 20)
            #expect(buckets[1].value == 19)
            #expect(buckets[1].count == 10)
            #expect(buckets[0].lower == -1)  // min over rows 0...9; the missing lower of row 3 is ignored
        }
    }

    @Test("pruning deletes band rows older than the raw retention")
    func prune() async throws {
        try await F.withStore { store in
            let key = try F.key("pump-1", "vibration")
            let day: Int64 = 86_400_000
            try await store.append(
                TelemetryBatch(
                    device: key.device,
                    samples: [Sample(metric: key.metric, timestamp: Self.start, value: 1)]
                )
            )
            try await store.appendAnomalyPoints(
                [0, 6, 8].map {
                    (
                        key,
                        AnomalyPoint(
                            timestamp: Self.start + $0 * day,
                            value: 1,
                            score: 0,
                            expected: nil,
                            lower: nil,
                            upper: nil
                        )
                    )
                }
            )
            // Raw retention is 7 days: at start + 9 d, rows before start + 2 d go.
            #expect(try await store.pruneAnomalyPoints(now: Self.start + 9 * day) == 1)
            let left = try await store.anomalyPoints(key, from: 0, to: .max, limit: 10)
            #expect(left.map(\.timestamp) == [Self.start + 6 * day, Self.start + 8 * day])
        }
    }
}
