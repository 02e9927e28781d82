import Foundation
import GRDB
import ReflexCore
import ReflexStore
import Testing

@Suite("Commit log: every committed batch, numbered in commit order, for detection", .timeLimit(.minutes(1)))
struct CommitLogTests {
    typealias F = SampleStoreFixtures
    static let start: Int64 = 1_764_145_200_000

    static func logging(_ configuration: inout SQLiteSampleStoreConfiguration) { configuration.logsCommits = true }

    static func batch(_ device: String, _ index: Int) throws -> TelemetryBatch {
        try F.batch(
            device,
            "vibration",
            [(start + Int64(index) * 1_000, Double(index)), (start + Int64(index) * 1_000 + 1, 0.5)]
        )
    }

    @Test("committed batches come back in commit order with growing sequence numbers, as enqueued")
    func roundTrip() async throws {
        try await F.withStore(configure: Self.logging) { store in
            let batches = try (0..<25).map { try Self.batch("pump-\($0 % 3)", $0) }
            for batch in batches { try await store.append(batch) }
            #expect(store.lastCommittedSequence == 25)
            let first = try await store.commitLogPage(after: 0, through: 25, limit: 10)
            #expect(first.entries.map(\.sequence) == Array(1...10))
            #expect(first.lastSequence == 10 && first.unreadable.isEmpty)
            var all = first.entries
            var after = first.lastSequence ?? 0
            while after < 25 {
                let page = try await store.commitLogPage(after: after, through: 25, limit: 10)
                all += page.entries
                after = try #require(page.lastSequence)
            }
            #expect(all.map(\.batch) == batches)
            #expect(all.allSatisfy { $0.committedAt > 0 })
        }
    }

    @Test("samples of reserved series (scores) are not logged; a batch of only those is not an entry")
    func reservedSeries() async throws {
        try await F.withStore(configure: Self.logging) { store in
            let device = try F.device("pump-1")
            let score = try F.metric("anomaly:vibration")
            let raw = try F.metric("vibration")
            try await store.append(
                TelemetryBatch(device: device, samples: [Sample(metric: score, timestamp: Self.start, value: 0.1)])
            )
            #expect(store.lastCommittedSequence == 0)
            try await store.append(
                TelemetryBatch(
                    device: device,
                    samples: [
                        Sample(metric: score, timestamp: Self.start, value: 0.1),
                        Sample(metric: raw, timestamp: Self.start, value: 4),
                    ]
                )
            )
            let page = try await store.commitLogPage(after: 0, through: 10, limit: 10)
            #expect(page.entries.map(\.batch.samples) == [[Sample(metric: raw, timestamp: Self.start, value: 4)]])
        }
    }

    @Test("the feed holds what fits, counts the rest, and the log still has every entry")
    func feedOverflow() async throws {
        try await F.withStore(configure: Self.logging) { store in
            let feed = store.commitFeed(bufferSize: 3)
            for index in 0..<10 { try await store.append(try Self.batch("pump-1", index)) }
            #expect(feed.take().map(\.sequence) == [1, 2, 3])
            #expect(feed.droppedCount == 7)
            let page = try await store.commitLogPage(after: 3, through: store.lastCommittedSequence, limit: 100)
            #expect(page.entries.map(\.sequence) == Array(4...10))
            try await store.append(try Self.batch("pump-1", 10))
            #expect(feed.take().map(\.sequence) == [11])
        }
    }

    @Test("trimming deletes through a sequence number; numbers are never reused, also after reopening")
    func trimAndReopen() async throws {
        try await F.withTemporaryDirectory { directory in
            try await F.withStore(in: directory, configure: Self.logging) { store in
                for index in 0..<12 { try await store.append(try Self.batch("pump-1", index)) }
                #expect(try await store.trimCommitLog(through: 12) == 12)
                let page = try await store.commitLogPage(after: 0, through: 100, limit: 100)
                #expect(page.entries.isEmpty && page.lastSequence == nil)
            }
            try await F.withStore(in: directory, configure: Self.logging) { store in
                #expect(store.lastCommittedSequence == 12)
                try await store.append(try Self.batch("pump-1", 20))
                #expect(store.lastCommittedSequence == 13)
                let page = try await store.commitLogPage(after: 0, through: 100, limit: 100)
                #expect(page.entries.map(\.sequence) == [13])
            }
        }
    }

    @Test("without logsCommits nothing is logged and a leftover log is emptied at open")
    func off() async throws {
        try await F.withTemporaryDirectory { directory in
            try await F.withStore(in: directory, configure: Self.logging) { store in
                try await store.append(try Self.batch("pump-1", 0))
            }
            try await F.withStore(in: directory) { store in
                try await store.append(try Self.batch("pump-1", 1))
                let page = try await store.commitLogPage(after: 0, through: 100, limit: 100)
                #expect(page.entries.isEmpty)
                #expect(store.lastCommittedSequence == 1)
            }
        }
    }

    @Test("a corrupt entry is reported with its sequence number and does not fail the page")
    func corruptEntry() async throws {
        try await F.withTemporaryDirectory { directory in
            try await F.withStore(in: directory, configure: Self.logging) { store in
                for index in 0..<3 { try await store.append(try Self.batch("pump-1", index)) }
            }
            let path = URL(fileURLWithPath: directory).appendingPathComponent("samples.sqlite").path
            // As another process (or a bad disk) would: a count of 2^32 - 1 samples in 5 bytes.
            try await DatabaseQueue(path: path).write { db in
                try db.execute(sql: "UPDATE commit_log SET samples = x'01FFFFFFFF' WHERE seq = 2")
            }
            try await F.withStore(in: directory, configure: Self.logging) { store in
                let page = try await store.commitLogPage(after: 0, through: 3, limit: 10)
                #expect(page.entries.map(\.sequence) == [1, 3])
                #expect(page.lastSequence == 3)
                let problem = try #require(page.unreadable.first)
                #expect(problem.code == .database)
                #expect(problem.message.contains("commit log entry 2"))
            }
        }
    }

    @Test("the cursor is saved with the checkpoints and survives reopening")
    func cursor() async throws {
        try await F.withTemporaryDirectory { directory in
            let key = try F.key("pump-1", "vibration")
            try await F.withStore(in: directory, configure: Self.logging) { store in
                #expect(try await store.loadDetectionCursor() == nil)
                try await store.saveDetectorCheckpoints([key: Data("a".utf8)], cursor: 7, at: Self.start)
                try await store.saveDetectorCheckpoints([:], cursor: 9, at: Self.start + 1)
            }
            try await F.withStore(in: directory, configure: Self.logging) { store in
                let cursor = try await store.loadDetectionCursor()
                let states = try await store.loadDetectorCheckpoints()
                #expect(cursor == 9)
                #expect(states == [key: Data("a".utf8)])
            }
        }
    }
}
