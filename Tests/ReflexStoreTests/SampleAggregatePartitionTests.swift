import ReflexCore
import Testing

@testable import ReflexStore

@Suite("sample store: partitioned aggregate scans")
struct SampleAggregatePartitionTests {
    typealias F = SampleStoreFixtures
    static let minute: Int64 = 60_000

    @Test("parts are step-aligned, increasing and cover the range")
    func partitionBoundaries() {
        let from: Int64 = 1_700_000_000_000 / Self.minute * Self.minute
        let to = from + 400 * 86_400_000
        let boundaries = SQLiteSampleStore.partition(from: from, to: to, step: 900_000, rowWidth: Self.minute)
        #expect(boundaries.first == from)
        #expect(boundaries.last == to)
        #expect(boundaries.count > 2)
        #expect(zip(boundaries, boundaries.dropFirst()).allSatisfy { $0 < $1 })
        #expect(boundaries.dropFirst().dropLast().allSatisfy { $0 % 900_000 == 0 })
        #expect(
            SQLiteSampleStore.partition(from: 0, to: 86_400_000, step: 60_000, rowWidth: Self.minute) == [
                0, 86_400_000,
            ]
        )
        #expect(SQLiteSampleStore.partition(from: .min, to: .max, step: 60_000, rowWidth: 1).count == 2)
    }

    @Test("a long aggregate read in parts equals the recomputation from raw")
    func partitionedAggregateMatchesReference() async throws {
        try await F.withStore { store in
            let key = try F.key("pump-7", "temperature")
            let origin: Int64 = 1_700_000_000_000 / 3_600_000 * 3_600_000
            // One sample every 37 minutes for 200 days: 200 days of minutes is > 100,000 rows.
            let points = (0..<7_800).map { (origin + Int64($0) * 37 * Self.minute + 1_234, Double($0 % 101) / 4) }
            try await store.append(F.batch("pump-7", "temperature", points))
            let to = origin + 200 * 86_400_000
            let raw = Dictionary(uniqueKeysWithValues: points.filter { $0.0 < to })
            for (step, width) in [(Duration.seconds(300), 300_000), (.seconds(7 * 60), 420_000)] as [(Duration, Int64)]
            {
                #expect(SQLiteSampleStore.partition(from: origin, to: to, step: width, rowWidth: Self.minute).count > 2)
                let points = try await store.aggregate(key, from: origin, to: to, step: step)
                #expect(points == SampleRollupTests.reference(raw, width: width))
            }
        }
    }
}
