import GRDB
import Testing

@testable import ReflexStore

@Suite("sample store: durability settings")
struct SampleDurabilityTests {
    /// Checks the settings that make a commit durable: WAL with `synchronous = FULL` fsyncs the
    /// log at every commit, so a commit that returned is on disk. It does not kill anything: the
    /// real check that acknowledged samples survive a crash is the process-kill integration test
    /// `Tests/integration/test_ingest.py::test_acknowledged_samples_survive_kill9`, which
    /// SIGKILLs the node while publishing and finds every acknowledged sample afterwards.
    @Test("the writer's connection is set up for durable commits: journal_mode = WAL, synchronous = FULL")
    func durableCommitSettings() async throws {
        try await SampleStoreFixtures.withStore { store in
            let (journal, synchronous) = try await store.pool.write { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                    try Int.fetchOne(db, sql: "PRAGMA synchronous")
                )
            }
            #expect(journal == "wal")
            #expect(synchronous == 2)  // FULL
        }
    }
}
