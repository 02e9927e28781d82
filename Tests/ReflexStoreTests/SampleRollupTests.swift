import ReflexCore
import ReflexStore
import Testing

@Suite("sample store: incremental rollups")
struct SampleRollupTests {
    typealias F = SampleStoreFixtures

    struct Expected: Equatable {
        var min = Double.infinity
        var max = -Double.infinity
        var sum = 0.0
        var count: Int64 = 0
        var lastTimestamp = Int64.min
        var last = 0.0

        mutating func add(_ timestamp: Int64, _ value: Double) {
            min = Swift.min(min, value)
            max = Swift.max(max, value)
            sum += value
            count += 1
            if timestamp > lastTimestamp {
                lastTimestamp = timestamp
                last = value
            }
        }
    }

    /// Recomputes the buckets of `width` from the final raw contents, the reference the
    /// incremental rollups must equal.
    static func reference(_ raw: [Int64: Double], width: Int64) -> [AggregatePoint] {
        var buckets: [Int64: Expected] = [:]
        for (timestamp, value) in raw {
            buckets[timestamp - ((timestamp % width) + width) % width, default: Expected()].add(timestamp, value)
        }
        return buckets.sorted { $0.key < $1.key }.map { start, bucket in
            AggregatePoint(
                start: start,
                min: bucket.min,
                max: bucket.max,
                sum: bucket.sum,
                count: bucket.count,
                last: bucket.last
            )
        }
    }

    @Test(
        "rollups equal a recomputation from raw, with duplicates, overwrites and out-of-order samples",
        arguments: [1, 42, 2026] as [UInt64]
    )
    func rollupsMatchRecomputation(seed: UInt64) async throws {
        try await F.withStore { store in
            var random = SplitMix64(seed: seed)
            let origin: Int64 = 1_764_140_400_000  // an exact hour
            let span: Int64 = 3 * 3_600_000
            let metrics = ["temperature", "pressure"]
            var model: [String: [Int64: Double]] = [:]
            var sent: [(String, Int64, Double)] = []
            for _ in 0..<40 {
                // A group of enqueues commits together; an append waits for the group.
                var batches: [TelemetryBatch] = []
                for _ in 0..<Int.random(in: 1...5, using: &random) {
                    let metric = metrics[Int.random(in: 0..<metrics.count, using: &random)]
                    var points: [(Int64, Double)] = []
                    for _ in 0..<Int.random(in: 1...30, using: &random) {
                        let roll = Int.random(in: 0..<10, using: &random)
                        if roll < 2, let old = sent.randomElement(using: &random), old.0 == metric {
                            points.append((old.1, old.2))  // redelivery: same value
                        } else if roll < 3, let old = sent.randomElement(using: &random), old.0 == metric {
                            points.append((old.1, Double(Int.random(in: -400...400, using: &random)) / 4))  // overwrite
                        } else {
                            let timestamp = origin + Int64.random(in: 0..<span, using: &random)  // any order
                            points.append((timestamp, Double(Int.random(in: -400...400, using: &random)) / 4))
                        }
                    }
                    for point in points {
                        model[metric, default: [:]][point.0] = point.1
                        sent.append((metric, point.0, point.1))
                    }
                    batches.append(try F.batch("pump-7", metric, points))
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for batch in batches { group.addTask { try await store.append(batch) } }
                    try await group.waitForAll()
                }
            }
            // Task-group appends may reorder enqueues across batches: rebuild the model from
            // what the store kept raw (raw storage itself is checked elsewhere), then check
            // the rollups against that.
            for metric in metrics {
                let key = try F.key("pump-7", metric)
                let raw = try await store.rawRange(key, from: origin, to: origin + span, limit: 1_000_000, cursor: nil)
                let stored = Dictionary(uniqueKeysWithValues: raw.samples.map { ($0.timestamp, $0.value) })
                #expect(Set(stored.keys) == Set((model[metric] ?? [:]).keys))
                for (width, step) in [(60_000, Duration.seconds(60)), (3_600_000, .seconds(3600))]
                    as [(Int64, Duration)]
                {
                    let rollup = try await store.aggregate(key, from: origin, to: origin + span, step: step)
                    #expect(rollup == Self.reference(stored, width: width), "\(metric) by \(step)")
                }
                // Raw-served aggregation agrees too (a 30 s step cannot use a rollup).
                let fromRaw = try await store.aggregate(key, from: origin, to: origin + span, step: .seconds(30))
                #expect(fromRaw == Self.reference(stored, width: 30_000))
            }
        }
    }

    @Test("a redelivered batch does not count twice; an overwrite replaces the value in the rollup")
    func redeliveryAndOverwrite() async throws {
        try await F.withStore { store in
            let key = try F.key("pump-7", "temperature")
            let batch = try F.batch("pump-7", "temperature", [(60_000, 1), (60_500, 5), (61_000, 3)])
            try await store.append(batch)
            try await store.append(batch)
            var minute = try await store.aggregate(key, from: 60_000, to: 120_000, step: .seconds(60))
            #expect(minute == [AggregatePoint(start: 60_000, min: 1, max: 5, sum: 9, count: 3, last: 3)])
            try await store.append(F.batch("pump-7", "temperature", [(60_500, 2)]))  // max 5 goes away
            minute = try await store.aggregate(key, from: 60_000, to: 120_000, step: .seconds(60))
            #expect(minute == [AggregatePoint(start: 60_000, min: 1, max: 3, sum: 6, count: 3, last: 3)])
            let hour = try await store.aggregate(key, from: 0, to: 3_600_000, step: .seconds(3600))
            #expect(hour == [AggregatePoint(start: 0, min: 1, max: 3, sum: 6, count: 3, last: 3)])
            try await store.append(F.batch("pump-7", "temperature", [(59_999, 100)]))  // earlier minute
            let late = try await store.aggregate(key, from: 0, to: 3_600_000, step: .seconds(3600))
            #expect(late.first?.last == 3)
            #expect(late.first?.max == 100)
        }
    }
}
