import GRDB
import ReflexCore
import ReflexStore
import Testing

@Suite("sample store: aggregate resolution")
struct SampleAggregateResolutionTests {
    typealias F = SampleStoreFixtures
    static let hour: Int64 = 3_600_000

    @Test(
        "the coarsest exact resolution is chosen",
        arguments: [
            (hour, 0, 24 * hour, AggregateResolution.hour),
            (24 * hour, 0, 48 * hour, .hour),
            (hour, 60_000, 24 * hour, .minute),  // range not hour-aligned
            (90 * 60_000, 0, 24 * hour, .minute),  // 1.5 h is not a multiple of an hour
            (60_000, 0, hour, .minute),
            (5 * 60_000, -hour, hour, .minute),
            (30_000, 0, hour, .raw),
            (60_000, 1, hour, .raw),
        ] as [(Int64, Int64, Int64, AggregateResolution)]
    )
    func bestResolution(step: Int64, from: Int64, to: Int64, expected: AggregateResolution) {
        #expect(AggregateResolution.best(step: step, from: from, to: to) == expected)
    }

    @Test("aggregates are read from the hourly rollup, the minute rollup or raw as chosen")
    func servedFromTheChosenTable() async throws {
        try await F.withStore { store in
            let key = try F.key("pump-7", "temperature")
            // One sample every 10 s for two hours: 1 per raw row.
            let points = (0..<720).map { (Int64($0) * 10_000, 1.0) }
            try await store.append(F.batch("pump-7", "temperature", points))
            // Mark each table with a different sum, from a second connection.
            let queue = try DatabaseQueue(path: store.path)
            try await queue.write { db in
                try db.execute(sql: "UPDATE rollup_1h SET sum_value = 1000")
                try db.execute(sql: "UPDATE rollup_1m SET sum_value = 100")
            }
            let hourly = try await store.aggregate(key, from: 0, to: 2 * Self.hour, step: .seconds(3600))
            #expect(hourly.map(\.sum) == [1000, 1000])
            let minutely = try await store.aggregate(key, from: 60_000, to: 2 * Self.hour, step: .seconds(3600))
            #expect(minutely.map(\.sum) == [5900, 6000])  // 59 and 60 minute rows of 100
            let raw = try await store.aggregate(key, from: 0, to: 2 * Self.hour, step: .seconds(30))
            #expect(raw.count == 240)
            #expect(raw.allSatisfy { $0.sum == 3 && $0.count == 3 })
            #expect(hourly.map(\.count) == [360, 360])
        }
    }

    @Test("a step under 1 ms is refused")
    func invalidStep() async throws {
        try await F.withStore { store in
            let error = await #expect(throws: SampleStoreError.self) {
                _ = try await store.aggregate(F.key("a", "b"), from: 0, to: 1, step: .microseconds(10))
            }
            #expect(error?.code == .invalidQuery)
        }
    }
}
