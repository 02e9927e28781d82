import GRDB
import Testing

@testable import ReflexStore

@Suite("sample store: durability settings")
struct SampleDurabilityTests {
    @Test("the writer runs WAL with synchronous = FULL, so a commit survives power loss")
    func walAndFullSync() async throws {
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
