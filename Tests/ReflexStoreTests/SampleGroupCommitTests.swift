import GRDB
import Logging
import ReflexCore
import ReflexStore
import ServiceLifecycle
import Testing

@Suite("sample store: group commit")
struct SampleGroupCommitTests {
    typealias F = SampleStoreFixtures

    @Test("a completion runs only after its samples are visible to another connection")
    func completionAfterCommit() async throws {
        try await F.withStore { store in
            let seen = LockedBox<[Int]>([])
            let path = store.path
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let remaining = LockedBox(20)
                for index in 0..<20 {
                    let batch = try? F.batch("pump-7", "temperature", [(Int64(index), Double(index))])
                    guard let batch else { preconditionFailure("valid batch") }
                    store.enqueue(batch) { result in
                        // Inside the completion: the rows must already be committed.
                        let rows =
                            (try? F.count(in: path, sql: "SELECT count(*) FROM samples WHERE ts <= \(index)")) ?? -1
                        seen.withLock { $0.append(result.isSuccess ? rows : -2) }
                        if remaining.withLock({
                            $0 -= 1
                            return $0
                        }) == 0 {
                            done.resume()
                        }
                    }
                }
            }
            let counts = seen.withLock { $0 }
            #expect(counts.count == 20)
            for (index, rows) in counts.enumerated() { #expect(rows >= index + 1) }
            #expect(store.ingestStatistics().samplesCommitted == 20)
            #expect(store.ingestStatistics().commits >= 1)
        }
    }

    @Test("completions run in enqueue order, samples and dead letters mixed")
    func completionOrder() async throws {
        try await F.withStore { store in
            let order = LockedBox<[Int]>([])
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let total = 300
                for index in 0..<total {
                    let finish: @Sendable (Result<Void, any Error>) -> Void = { _ in
                        let count = order.withLock {
                            $0.append(index)
                            return $0.count
                        }
                        if count == total { done.resume() }
                    }
                    if index % 7 == 0 {
                        store.recordDeadLetter(
                            receivedAt: 1,
                            device: nil,
                            topic: "t",
                            reason: "r",
                            payload: [],
                            completion: finish
                        )
                    } else if let batch = try? F.batch("d\(index % 5)", "m", [(Int64(index), 1)]) {
                        store.enqueue(batch, completion: finish)
                    }
                }
            }
            #expect(order.withLock { $0 } == Array(0..<300))
        }
    }

    @Test("over the pending bound, enqueue fails fast with an overloaded error")
    func backpressure() async throws {
        try await F.withTemporaryDirectory { directory in
            var configuration = SQLiteSampleStoreConfiguration(directory: directory, maxPendingSamples: 25)
            configuration.commitInterval = .milliseconds(1)
            // The writer is not running: nothing drains, so the bound is reached deterministically.
            let store = try SQLiteSampleStore(configuration: configuration, logger: F.logger)
            let results = LockedBox<[Result<Void, any Error>]>([])
            for index in 0..<3 {
                let batch = try F.batch("pump-7", "m", (0..<10).map { (Int64(index * 10 + $0), 1) })
                store.enqueue(batch) { result in results.withLock { $0.append(result) } }
            }
            let failures = results.withLock { $0 }
            #expect(failures.count == 1)
            let error = try #require(failures.first.flatMap { $0.failure as? SampleStoreError })
            #expect(error.code == .overloaded)
            #expect(error.message.contains("limit 25"))
            #expect(store.ingestStatistics().pendingSamples == 20)
            #expect(store.ingestStatistics().messagesRejected == 1)
        }
    }

    @Test("graceful shutdown commits the pending group, then refuses new work")
    func gracefulShutdownCommitsPending() async throws {
        try await F.withTemporaryDirectory { directory in
            var configuration = SQLiteSampleStoreConfiguration(directory: directory)
            configuration.commitInterval = .seconds(3600)  // only the shutdown can commit
            let store = try SQLiteSampleStore(configuration: configuration, logger: F.logger)
            let group = ServiceGroup(
                configuration: .init(services: [store], gracefulShutdownSignals: [], logger: F.logger)
            )
            let successes = LockedBox(0)
            for index in 0..<50 {
                let batch = try F.batch("pump-7", "m", [(Int64(index), Double(index))])
                store.enqueue(batch) { result in
                    if result.isSuccess { successes.withLock { $0 += 1 } }
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(successes.withLock { $0 } == 50)
            #expect(try F.count(in: store.path, sql: "SELECT count(*) FROM samples") == 50)
            let error = await #expect(throws: SampleStoreError.self) {
                try await store.append(F.batch("pump-7", "m", [(99, 1)]))
            }
            #expect(error?.code == .closed)
        }
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }

    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
