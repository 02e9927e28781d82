import ReflexCore
import ReflexStore
import ServiceLifecycle
import Testing

@Suite("sample store: retention service")
struct SampleRetentionServiceTests {
    typealias F = SampleStoreFixtures

    @Test("the service applies retention with the injected now, and stops on graceful shutdown")
    func periodicPasses() async throws {
        try await F.withTemporaryDirectory { directory in
            let store = try SQLiteSampleStore(
                configuration: SQLiteSampleStoreConfiguration(directory: directory),
                logger: F.logger
            )
            let now: Int64 = 1_764_145_200_000
            let day: Int64 = 86_400_000
            // Each call of `now` is announced; the second call means the first pass finished.
            let (calls, announce) = AsyncStream.makeStream(of: Void.self)
            let retention = SampleRetentionService(
                store: store,
                interval: .milliseconds(1),
                clock: ContinuousClock(),
                now: {
                    announce.yield()
                    return now
                },
                logger: F.logger
            )
            let writer = ServiceGroup(
                configuration: .init(services: [store], gracefulShutdownSignals: [], logger: F.logger)
            )
            let trimmer = ServiceGroup(
                configuration: .init(services: [retention], gracefulShutdownSignals: [], logger: F.logger)
            )
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await writer.run() }
                try await store.append(F.batch("pump-7", "temperature", [(now - 8 * day, 1), (now - day, 2)]))
                tasks.addTask { try await trimmer.run() }  // starts after the samples are committed
                var iterator = calls.makeAsyncIterator()
                _ = await iterator.next()
                _ = await iterator.next()  // the first pass has finished
                await trimmer.triggerGracefulShutdown()
                await writer.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let left = try await store.rawRange(
                F.key("pump-7", "temperature"),
                from: 0,
                to: .max,
                limit: 10,
                cursor: nil
            )
            #expect(left.samples.map(\.timestamp) == [now - day])
        }
    }
}
