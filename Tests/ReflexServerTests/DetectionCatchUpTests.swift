import Foundation
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore
import Synchronization
import Testing

/// Catch-up with the real store: what the in-memory feed cannot hold, and what was committed
/// while detection was stopped, is read back from the commit log and scored exactly once, and
/// the scores equal those of a steady feed.
@Suite("Detection catch-up from the commit log", .timeLimit(.minutes(2)))
struct DetectionCatchUpTests {
    typealias F = DetectionFixture

    static let values = F.signal(count: 400, spikeAt: 330)

    /// One batch of one sample per value.
    static func batches(_ range: Range<Int>) -> [TelemetryBatch] {
        range.map { F.batch([values[$0]], from: F.start + Int64($0) * 1_000) }
    }

    /// The scores a steady feed gives: each batch committed, then scored, one at a time.
    static func steadyScores() async throws -> [Sample] {
        try await F.run { fixture in
            let service = fixture.service()
            for batch in batches(0..<values.count) { try await fixture.ingest(batch, into: service) }
            return try await fixture.waitForScores("anomaly:vibration", count: values.count)
        }
    }

    /// Enqueues `batches` in order without waiting between them (one burst, committed in a few
    /// groups), then waits until all of them are committed.
    static func burst(_ batches: [TelemetryBatch], into store: SQLiteSampleStore) async throws {
        let remaining = Mutex(batches.count)
        let failure = Mutex<(any Error)?>(nil)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            for batch in batches {
                store.enqueue(batch) { result in
                    if case .failure(let error) = result { failure.withLock { $0 = error } }
                    guard
                        remaining.withLock({ count in
                            count -= 1
                            return count == 0
                        })
                    else { return }
                    if let error = failure.withLock({ $0 }) {
                        continuation.resume(throwing: error)
                    } else {
                        continuation.resume()
                    }
                }
            }
        }
    }

    /// Runs `service` until `body` returns.
    static func running<T: Sendable>(
        _ service: DetectionService,
        _ body: @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// Polls (bounded) until `service` has scored `count` samples and nothing waits.
    static func waitUntilCaughtUp(_ service: DetectionService, scored count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if service.status.counters.samplesScored >= count, service.lag.batchesBehind == 0 { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw FixtureError("detection scored \(service.status.counters.samplesScored) of \(count); lag \(service.lag)")
    }

    @Test("a burst past a feed of 2 batches is scored completely, once, like a steady feed")
    func burstOverflow() async throws {
        let expected = try await Self.steadyScores()
        let (scores, counters, overflows) = try await F.run(logsCommits: true) { fixture in
            var configuration = DetectionConfiguration()
            configuration.bufferSize = 2
            let service = fixture.service(configuration)
            return try await Self.running(service) {
                try await Self.burst(Self.batches(0..<Self.values.count), into: fixture.store)
                try await Self.waitUntilCaughtUp(service, scored: Self.values.count)
                let scores = try await fixture.waitForScores("anomaly:vibration", count: Self.values.count)
                return (scores, service.status.counters, service.feedOverflows)
            }
        }
        #expect(overflows > 0, "the burst did not overflow the feed")
        #expect(counters.catchUps >= 1 && counters.samplesReplayed > 0)
        #expect(counters.samplesScored == Self.values.count, "each sample scored exactly once")
        #expect(counters.lastCatchUpSeconds != nil && counters.isCatchingUp == false)
        #expect(scores.map(\.timestamp) == expected.map(\.timestamp))
        #expect(scores.map(\.value.bitPattern) == expected.map(\.value.bitPattern), "bit-identical scores")
    }

    @Test("what was committed while detection was stopped is scored after the restart, from the checkpoint on")
    func restartCatchUp() async throws {
        let expected = try await Self.steadyScores()
        let split = 150
        let scores = try await F.run(logsCommits: true) { fixture in
            let first = fixture.service()
            try await Self.running(first) {
                try await Self.burst(Self.batches(0..<split), into: fixture.store)
                try await Self.waitUntilCaughtUp(first, scored: split)
                await first.checkpoint()
            }
            // Detection is down; ingest goes on.
            try await Self.burst(Self.batches(split..<Self.values.count), into: fixture.store)
            let second = fixture.service()
            return try await Self.running(second) {
                try await Self.waitUntilCaughtUp(second, scored: Self.values.count - split)
                #expect(second.status.counters.restoredSeries == 1)
                #expect(second.status.counters.samplesReplayed == Self.values.count - split)
                #expect(second.status.counters.samplesScored == Self.values.count - split, "nothing scored twice")
                return try await fixture.waitForScores("anomaly:vibration", count: Self.values.count)
            }
        }
        #expect(scores.map(\.value.bitPattern) == expected.map(\.value.bitPattern), "bit-identical scores")
    }
}
