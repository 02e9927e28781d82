import ReflexCore
import ReflexStore
import Testing

@Suite("sample store: retention")
struct SampleRetentionTests {
    typealias F = SampleStoreFixtures
    static let day: Int64 = 86_400_000
    static let now: Int64 = 1_764_145_200_000 + 1_234_567  // not on an hour

    @Test("each resolution loses only what is older than its own horizon")
    func horizonsPerResolution() async throws {
        let configure: (inout SQLiteSampleStoreConfiguration) -> Void = { $0.retention.batchSize = 3 }
        try await F.withStore(configure: configure) { store in
            let key = try F.key("pump-7", "temperature")
            let ages: [Int64] = [6 * Self.day, 8 * Self.day, 91 * Self.day, 6 * 365 * Self.day]
            for metric in ["temperature", "pressure"] {
                for age in ages {
                    // Ten samples one second apart, well inside one hour.
                    let points = (0..<10).map { (Self.now - age + Int64($0) * 1000, Double($0)) }
                    try await store.append(F.batch("pump-7", metric, points))
                }
            }
            try await store.recordDeadLetter(
                receivedAt: Self.now - 31 * Self.day,
                device: nil,
                topic: "old",
                reason: "r",
                payload: []
            )
            try await store.recordDeadLetter(
                receivedAt: Self.now - 29 * Self.day,
                device: nil,
                topic: "recent",
                reason: "r",
                payload: []
            )

            let report = try await store.applyRetention(now: Self.now)
            #expect(report.rawSamples == 2 * 3 * 10)  // 8 d, 91 d, 6 y
            #expect(report.minuteBuckets == 2 * 2)  // 91 d, 6 y: one minute bucket each
            #expect(report.hourBuckets == 2 * 1)  // 6 y
            #expect(report.deadLetters == 1)

            let all = try await store.rawRange(key, from: .min, to: .max, limit: 1000, cursor: nil)
            #expect(all.samples.map(\.timestamp) == (0..<10).map { Self.now - 6 * Self.day + Int64($0) * 1000 })
            func counts(_ step: Duration, from: Int64) async throws -> Int64 {
                try await store.aggregate(key, from: from, to: from + Self.day, step: step).map(\.count).reduce(0, +)
            }
            let minuteDay = { (age: Int64) in (Self.now - age) / Self.day * Self.day }
            #expect(try await counts(.seconds(60), from: minuteDay(8 * Self.day)) == 10)
            #expect(try await counts(.seconds(60), from: minuteDay(91 * Self.day)) == 0)
            #expect(try await counts(.seconds(3600), from: minuteDay(91 * Self.day)) == 10)
            #expect(try await counts(.seconds(3600), from: minuteDay(6 * 365 * Self.day)) == 0)
            #expect(try await store.deadLetters(limit: 10, before: nil).map(\.topic) == ["recent"])

            let again = try await store.applyRetention(now: Self.now)
            #expect(again == RetentionReport())
        }
    }
}
