import ReflexCore
import ReflexStore
import Testing

@Suite("sample store: keyset pagination")
struct SamplePaginationTests {
    typealias F = SampleStoreFixtures

    @Test("pages follow the cursor to the end without gaps or repeats", arguments: [100, 333, 1000, 5000])
    func pagesCoverTheRange(limit: Int) async throws {
        try await F.withStore { store in
            let key = try F.key("pump-7", "temperature")
            let timestamps = (0..<5000).map { Int64($0) * 1000 + 7 }
            for chunk in stride(from: 0, to: timestamps.count, by: 500) {
                let points = timestamps[chunk..<min(chunk + 500, timestamps.count)].map { ($0, Double($0)) }
                try await store.append(F.batch("pump-7", "temperature", points))
            }
            try await store.append(F.batch("pump-7", "other", [(500, 1)]))  // another series in range
            var cursor: Int64?
            var collected: [Int64] = []
            var pages = 0
            repeat {
                let page = try await store.rawRange(key, from: 7, to: 4_999_007, limit: limit, cursor: cursor)
                #expect(page.samples.count <= limit)
                collected += page.samples.map(\.timestamp)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 1000
            #expect(collected == Array(timestamps.dropLast()))  // `to` is exclusive
            #expect(pages == (4999 + limit - 1) / limit)
        }
    }

    @Test("a limit below 1 is refused")
    func invalidLimit() async throws {
        try await F.withStore { store in
            let error = await #expect(throws: SampleStoreError.self) {
                _ = try await store.rawRange(F.key("a", "b"), from: 0, to: 1, limit: 0, cursor: nil)
            }
            #expect(error?.code == .invalidQuery)
        }
    }
}
