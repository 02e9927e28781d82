import ReflexCore
import ReflexStore
import Testing

@Suite("sample store: dead letters")
struct SampleDeadLetterTests {
    typealias F = SampleStoreFixtures

    @Test("a dead letter keeps a bounded copy of the payload and its full size")
    func boundedCopy() async throws {
        try await F.withStore { store in
            let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
            try await store.recordDeadLetter(
                receivedAt: 1_000,
                device: try F.device("pump-7"),
                topic: "devices/pump-7/telemetry",
                reason: "JSON at byte 3: expected a value",
                payload: payload
            )
            try await store.recordDeadLetter(
                receivedAt: 2_000,
                device: nil,
                topic: "devices/%/telemetry",
                reason: "bad topic",
                payload: [1, 2, 3]
            )
            let letters = try await store.deadLetters(limit: 10, before: nil)
            #expect(letters.map(\.receivedAt) == [2_000, 1_000])
            let big = try #require(letters.last)
            #expect(big.payload.count == 4096)
            #expect(big.payload == Array(payload.prefix(4096)))
            #expect(big.payloadSize == 10_000)
            #expect(big.device == (try F.device("pump-7")))
            #expect(big.reason == "JSON at byte 3: expected a value")
            #expect(letters.first?.device == nil)
            #expect(letters.first?.payload == [1, 2, 3])
            #expect(store.ingestStatistics().deadLettersCommitted == 2)
        }
    }

    @Test("dead letters page backwards by id")
    func paging() async throws {
        let configure: (inout SQLiteSampleStoreConfiguration) -> Void = { $0.deadLetterPayloadLimit = 2 }
        try await F.withStore(configure: configure) { store in
            for index in 0..<25 {
                try await store.recordDeadLetter(
                    receivedAt: Int64(index),
                    device: nil,
                    topic: "t\(index)",
                    reason: "r",
                    payload: [1, 2, 3]
                )
            }
            var before: Int64?
            var topics: [String] = []
            repeat {
                let page = try await store.deadLetters(limit: 10, before: before)
                topics += page.map(\.topic)
                before = page.count == 10 ? page.last?.id : nil
            } while before != nil
            #expect(topics == (0..<25).reversed().map { "t\($0)" })
            #expect(try await store.deadLetters(limit: 1, before: nil).first?.payload == [1, 2])
        }
    }
}
