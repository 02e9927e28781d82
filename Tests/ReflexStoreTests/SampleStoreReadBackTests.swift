import ReflexCore
import ReflexStore
import Testing

@Suite("sample store: append and read back")
struct SampleStoreReadBackTests {
    typealias F = SampleStoreFixtures

    @Test("appended samples read back in time order with their values")
    func appendAndReadBack() async throws {
        try await F.withStore { store in
            let key = try F.key("pump-7", "temperature")
            try await store.append(F.batch("pump-7", "temperature", [(3000, 3.5), (1000, 1.5), (2000, 2.5)]))
            let page = try await store.rawRange(key, from: 0, to: 10_000, limit: 100, cursor: nil)
            #expect(page.samples.map(\.timestamp) == [1000, 2000, 3000])
            #expect(page.samples.map(\.value) == [1.5, 2.5, 3.5])
            #expect(page.samples.allSatisfy { $0.metric == key.metric })
            #expect(page.nextCursor == nil)
            let range = try await store.rawRange(key, from: 2000, to: 3000, limit: 100, cursor: nil)
            #expect(range.samples.map(\.timestamp) == [2000])
        }
    }

    @Test("the same (series, ts) twice is stored once with the last value")
    func idempotentPerSeriesAndTimestamp() async throws {
        try await F.withTemporaryDirectory { directory in
            try await F.withStore(in: directory) { store in
                let key = try F.key("pump-7", "temperature")
                try await store.append(F.batch("pump-7", "temperature", [(1000, 1)]))
                try await store.append(F.batch("pump-7", "temperature", [(1000, 1)]))  // redelivery
                try await store.append(F.batch("pump-7", "temperature", [(1000, 7), (1000, 9)]))
                let page = try await store.rawRange(key, from: 0, to: 10_000, limit: 100, cursor: nil)
                #expect(page.samples.map(\.value) == [9])
                #expect(store.latest(series: key)?.value == 9)
            }
            let rows = try F.count(in: directory + "/samples.sqlite", sql: "SELECT count(*) FROM samples")
            #expect(rows == 1)
        }
    }

    @Test("latest values survive a reopen, per device and per series")
    func latestAfterReopen() async throws {
        try await F.withTemporaryDirectory { directory in
            try await F.withStore(in: directory) { store in
                try await store.append(F.batch("pump-7", "temperature", [(2000, 20), (1000, 10)]))
                try await store.append(F.batch("pump-7", "pressure", [(500, 1.25)]))
                try await store.append(F.batch("fan-1", "rpm", [(700, 900)]))
                try await store.append(F.batch("pump-7", "temperature", [(1500, 15)]))  // late: not newest
            }
            try await F.withStore(in: directory) { store in
                let latest = store.latest(device: try F.device("pump-7"))
                #expect(latest.count == 2)
                #expect(latest[try F.metric("temperature")]?.timestamp == 2000)
                #expect(latest[try F.metric("temperature")]?.value == 20)
                #expect(latest[try F.metric("pressure")]?.value == 1.25)
                #expect(store.latest(series: try F.key("fan-1", "rpm"))?.value == 900)
                #expect(store.latest(series: try F.key("fan-1", "nope")) == nil)
                let series = try await store.series(of: try F.device("pump-7"))
                #expect(series.map(\.metric.rawValue) == ["pressure", "temperature"])
                #expect(series.last?.firstTimestamp == 1000)
                #expect(series.last?.lastTimestamp == 2000)
                #expect(series.last?.sampleCount == 3)
            }
        }
    }

    @Test("non-finite values are refused before they are queued")
    func nonFiniteRefused() async throws {
        try await F.withStore { store in
            let error = await #expect(throws: SampleStoreError.self) {
                try await store.append(F.batch("pump-7", "temperature", [(1, 1), (2, .nan)]))
            }
            #expect(error?.code == .invalidSample)
            #expect(store.ingestStatistics().messagesRejected == 1)
        }
    }
}
