import Foundation
import ReflexCore
import ReflexStore
import ReflexTestSupport
import Synchronization
import Testing

/// What the PostgreSQL sample store does when the server goes away mid-run: completions fail
/// (`unavailable`), none reports success for an uncommitted batch, and after the server is back
/// the store writes again on its own.
@Suite(
    "PostgreSQL sample store: a lost server fails completions, then the store recovers",
    .enabled(if: PostgresTestSupport.enabled),
    .timeLimit(.minutes(3))
)
struct PostgresSampleStoreOutageTests {
    typealias F = SampleStoreFixtures

    static func batch(_ index: Int) throws -> TelemetryBatch {
        try F.batch("pump-7", "temperature", [(Int64(index), Double(index))])
    }

    @Test("a stopped server fails the completions; every acknowledged batch is stored after the restart")
    func outage() async throws {
        // A cluster of its own: stopping the shared one would fail the tests running beside.
        let cluster = try TemporaryPostgres()
        defer { cluster.stop() }
        let name = try cluster.createDatabase()
        guard case .postgres(let settings) = try StoreLocation.parse(cluster.url(database: name)) else {
            throw TemporaryPostgres.Unavailable(description: "the cluster's URL did not parse")
        }
        let key = try F.key("pump-7", "temperature")
        try await SampleStoreContract.withStore(at: .postgres(settings)) { store in
            for index in 0..<20 { try await store.append(Self.batch(index)) }

            // Enqueue while the server stops: each completion is either a success (committed
            // before the stop) or an error, never a success for a lost batch.
            let outcomes = LockedBox<[Int: Bool]>([:])
            let errors = LockedBox<[String]>([])
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let remaining = LockedBox(50)
                for index in 20..<70 {
                    guard let batch = try? Self.batch(index) else { preconditionFailure("valid batch") }
                    store.enqueue(batch) { result in
                        outcomes.withLock { $0[index] = result.isSuccess }
                        if case .failure(let error) = result {
                            let code = (error as? SampleStoreError)?.code ?? .database
                            if code != .unavailable { errors.withLock { $0.append(String(describing: error)) } }
                        }
                        if remaining.withLock({
                            $0 -= 1
                            return $0
                        }) == 0 {
                            done.resume()
                        }
                    }
                    if index == 30 { try? cluster.stopServer(immediate: true) }
                }
            }
            let failed = outcomes.value.filter { !$0.value }.count
            #expect(failed > 0, "the stop came after every commit: the test proved nothing")
            #expect(errors.value.isEmpty, "every failure is `unavailable`: \(errors.value)")
            #expect(store.ingestStatistics().failedCommits > 0)

            // While the server is down a write fails too, with `unavailable`.
            let down = await #expect(throws: SampleStoreError.self) { try await store.append(Self.batch(100)) }
            #expect(down?.code == .unavailable)

            try cluster.start()
            try await store.append(Self.batch(101))

            let stored = try await store.rawRange(key, from: 0, to: .max, limit: 1000, cursor: nil).samples
            let timestamps = Set(stored.map(\.timestamp))
            let acknowledged = outcomes.value.filter(\.value).map { Int64($0.key) }
            #expect(acknowledged.allSatisfy { timestamps.contains($0) })
            #expect(timestamps.isSuperset(of: (0..<20).map(Int64.init)))
            #expect(timestamps.contains(101))
            #expect(!timestamps.contains(100))
        }
    }
}
