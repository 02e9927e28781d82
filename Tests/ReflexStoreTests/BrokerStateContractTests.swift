import Foundation
import Logging
import ReflexCore
import ReflexStore
import ReflexTestSupport
import Testing

extension StoreHome {
    /// A broker state store on this home; a second call stands for the node after a restart.
    func brokerState() async throws -> any BrokerStateStore {
        switch backend {
        case .sqlite:
            try SQLiteSampleStore(
                configuration: .init(directory: directory),
                logger: Logger(label: "test.broker", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        case .postgres:
            PostgresBrokerStateStore(database: try await openDatabase(PostgresBrokerStateSchema.migrations))
        }
    }
}

private typealias Retained = BrokerStateWrite.RetainedRow
private typealias Session = BrokerStateWrite.SessionRow
private typealias Message = BrokerStateWrite.SessionMessageRow

private func retained(_ topic: String, _ payload: String) -> Retained {
    Retained(topic: topic, metadata: Data(#"{"qos":1}"#.utf8), payload: Data(payload.utf8))
}

private func session(_ clientID: String, _ metadata: String = "{}") -> Session {
    Session(clientID: clientID, metadata: Data(metadata.utf8))
}

private func message(_ clientID: String, _ sequence: Int64, phase: String = "queued", packetID: Int? = nil) -> Message {
    Message(
        clientID: clientID,
        sequence: sequence,
        phase: phase,
        packetID: packetID,
        metadata: Data(#"{"topic":"t/\#(sequence)"}"#.utf8),
        payload: Data([0, 1, 2, 255, UInt8(sequence & 0xff)])
    )
}

/// The broker state store's contract, on every backend: what the broker's "PUBACK means
/// durable" relies on for queued session messages and retained messages.
@Suite("Broker state contract (SQLite and PostgreSQL)")
struct BrokerStateContractTests {
    @Test("a document is saved, replaced and read back; an unknown key is nil", arguments: Backend.available)
    func documents(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            #expect(try await store.loadBrokerState(for: "sessions") == nil)
            try await store.saveBrokerState(Data([1, 2, 0, 3]), for: "sessions")
            try await store.saveBrokerState(Data([9]), for: "other")
            try await store.saveBrokerState(Data([4, 5]), for: "sessions")
            #expect(try await store.loadBrokerState(for: "sessions") == Data([4, 5]))
            #expect(try await store.loadBrokerState(for: "other") == Data([9]))
        }
    }

    @Test(
        "retained upserts replace their topic, deletions remove one, other rows stay, in byte order",
        arguments: Backend.available
    )
    func retainedChanges(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            try await store.applyRetainedChanges(
                upserts: [
                    retained("b/1", "one"), retained("a/1", "two"), retained("B/1", "three"), retained("a-1", "x"),
                ],
                deletions: [],
                replacingAll: false,
                removingDocument: nil
            )
            #expect(try await store.loadRetainedRows().map(\.topic) == ["B/1", "a-1", "a/1", "b/1"])
            try await store.applyRetainedChanges(
                upserts: [retained("a/1", "new")],
                deletions: ["b/1", "never/stored"],
                replacingAll: false,
                removingDocument: nil
            )
            #expect(
                try await store.loadRetainedRows() == [
                    retained("B/1", "three"), retained("a-1", "x"), retained("a/1", "new"),
                ]
            )
        }
    }

    @Test(
        "replacing all retained rows drops the rest; the legacy document goes in the same write",
        arguments: Backend.available
    )
    func retainedReplaceAll(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            try await store.saveBrokerState(Data("legacy".utf8), for: "retained")
            try await store.applyRetainedChanges(
                upserts: [retained("a", "1"), retained("b", "2")],
                deletions: [],
                replacingAll: false,
                removingDocument: nil
            )
            try await store.applyRetainedChanges(
                upserts: [retained("c", "3")],
                deletions: [],
                replacingAll: true,
                removingDocument: "retained"
            )
            #expect(try await store.loadRetainedRows() == [retained("c", "3")])
            #expect(try await store.loadBrokerState(for: "retained") == nil)
        }
    }

    @Test("session rows and their messages come back in client and sequence order", arguments: Backend.available)
    func sessionsInOrder(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            try await store.applyBrokerState(
                [
                    .upsertSession(session("pump-b")),
                    .upsertSession(session("Pump-a")),
                    .upsertMessage(message("pump-b", 10)),
                    .upsertMessage(message("pump-b", 2)),
                    .upsertMessage(message("Pump-a", 7, phase: "awaitingAck", packetID: 65_535)),
                    .upsertMessage(message("pump-b", 1_000_000_000_000)),
                ],
                retainedUpserts: [],
                retainedDeletions: [],
                removingDocument: nil
            )
            #expect(try await store.loadSessionRows() == [session("Pump-a"), session("pump-b")])
            #expect(
                try await store.loadSessionMessageRows() == [
                    message("Pump-a", 7, phase: "awaitingAck", packetID: 65_535),
                    message("pump-b", 2), message("pump-b", 10), message("pump-b", 1_000_000_000_000),
                ]
            )
        }
    }

    @Test(
        "every session write applies in order: update, remove, upsert, remove a session, replace all",
        arguments: Backend.available
    )
    func sessionWrites(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            try await store.applyBrokerState(
                [
                    .upsertSession(session("a")), .upsertSession(session("b")),
                    .upsertMessage(message("a", 1)), .upsertMessage(message("a", 2)), .upsertMessage(message("b", 1)),
                ],
                retainedUpserts: [],
                retainedDeletions: [],
                removingDocument: nil
            )
            try await store.applyBrokerState(
                [
                    .updateMessage(clientID: "a", sequence: 1, phase: "awaitingAck", packetID: 17),
                    .updateMessage(clientID: "a", sequence: 1, phase: "awaitingComplete", packetID: 17),
                    .removeMessage(clientID: "a", sequence: 2),
                    .upsertSession(session("a", #"{"v":2}"#)),
                    .removeSession(clientID: "b"),
                    .upsertMessage(message("a", 3)),
                    .updateMessage(clientID: "a", sequence: 3, phase: "queued", packetID: nil),
                ],
                retainedUpserts: [retained("r", "1")],
                retainedDeletions: [],
                removingDocument: nil
            )
            #expect(try await store.loadSessionRows() == [session("a", #"{"v":2}"#)])
            #expect(
                try await store.loadSessionMessageRows() == [
                    message("a", 1, phase: "awaitingComplete", packetID: 17), message("a", 3),
                ]
            )
            #expect(try await store.loadRetainedRows() == [retained("r", "1")])

            try await store.saveBrokerState(Data("old sessions".utf8), for: "sessions")
            try await store.applyBrokerState(
                [.replaceAllSessions([session("c")], messages: [message("c", 5)])],
                retainedUpserts: [],
                retainedDeletions: ["r"],
                removingDocument: "sessions"
            )
            #expect(try await store.loadSessionRows() == [session("c")])
            #expect(try await store.loadSessionMessageRows() == [message("c", 5)])
            #expect(try await store.loadRetainedRows().isEmpty)
            #expect(try await store.loadBrokerState(for: "sessions") == nil)
        }
    }

    @Test(
        "a topic deleted and upserted in one write keeps the upsert (deletions apply first)",
        arguments: Backend.available
    )
    func deleteThenUpsert(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            try await store.applyRetainedChanges(
                upserts: [retained("t", "old")],
                deletions: [],
                replacingAll: false,
                removingDocument: nil
            )
            try await store.applyBrokerState(
                [],
                retainedUpserts: [retained("t", "new")],
                retainedDeletions: ["t"],
                removingDocument: nil
            )
            #expect(try await store.loadRetainedRows() == [retained("t", "new")])
        }
    }

    @Test("a full replacement of many sessions and messages stores every one, in order", arguments: Backend.available)
    func manyRows(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            let sessions = (0..<20).map { session(String(format: "client-%02d", $0)) }
            let messages = sessions.flatMap { row in (1...25).reversed().map { message(row.clientID, Int64($0)) } }
            try await store.applyBrokerState(
                [.replaceAllSessions(sessions.reversed(), messages: messages)],
                retainedUpserts: [],
                retainedDeletions: [],
                removingDocument: nil
            )
            #expect(try await store.loadSessionRows() == sessions)
            let stored = try await store.loadSessionMessageRows()
            #expect(stored.count == 500)
            #expect(stored == sessions.flatMap { row in (1...25).map { message(row.clientID, Int64($0)) } })
        }
    }

    @Test("a row written twice in one write keeps its last version", arguments: Backend.available)
    func lastWriteWins(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            try await store.applyBrokerState(
                [
                    .upsertSession(session("a", "1")),
                    .upsertMessage(message("a", 1)),
                    .upsertMessage(message("a", 2)),
                    .upsertMessage(message("a", 1, phase: "awaitingAck", packetID: 9)),
                    .upsertSession(session("a", "2")),
                    .upsertMessage(message("a", 3)),
                    .removeMessage(clientID: "a", sequence: 3),
                    .upsertMessage(message("a", 3, phase: "awaitingComplete", packetID: 4)),
                ],
                retainedUpserts: [retained("t", "first"), retained("u", "only"), retained("t", "second")],
                retainedDeletions: [],
                removingDocument: nil
            )
            #expect(try await store.loadSessionRows() == [session("a", "2")])
            #expect(
                try await store.loadSessionMessageRows() == [
                    message("a", 1, phase: "awaitingAck", packetID: 9), message("a", 2),
                    message("a", 3, phase: "awaitingComplete", packetID: 4),
                ]
            )
            #expect(try await store.loadRetainedRows() == [retained("t", "second"), retained("u", "only")])
        }
    }

    @Test("what a write stored is there for the next instance (a restart)", arguments: Backend.available)
    func survivesReopen(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            try await store.applyBrokerState(
                [.upsertSession(session("a")), .upsertMessage(message("a", 1))],
                retainedUpserts: [retained("t", "v")],
                retainedDeletions: [],
                removingDocument: nil
            )
            let restarted = try await home.brokerState()
            #expect(try await restarted.loadSessionRows() == [session("a")])
            #expect(try await restarted.loadSessionMessageRows() == [message("a", 1)])
            #expect(try await restarted.loadRetainedRows() == [retained("t", "v")])
        }
    }

    @Test("the deletion hint names the store's own tool and the row", arguments: Backend.available)
    func deletionHint(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.brokerState()
            let hint = store.deletionHint(table: "retained_messages", where: "topic = 'a/b'")
            #expect(hint.hasSuffix(#""DELETE FROM retained_messages WHERE topic = 'a/b'""#))
            switch backend {
            case .sqlite:
                #expect(hint.hasPrefix("sqlite3 '") && hint.contains("samples.sqlite"))
            case .postgres:
                let settings = try home.postgresSettings()
                #expect(
                    hint.hasPrefix(
                        "psql 'postgres://\(settings.user)@127.0.0.1:\(settings.port)/\(settings.database)' -c "
                    )
                )
                let password = try #require(settings.password)
                #expect(!hint.contains(password))
                #expect(store.location.contains("***") && !store.location.contains(password))
            }
        }
    }
}

/// What only the PostgreSQL broker state store has: all-or-nothing writes seen from the
/// database, and its migrations.
@Suite("PostgreSQL broker state", .enabled(if: PostgresTestSupport.enabled))
struct PostgresBrokerStateTests {
    @Test("a write that fails part-way leaves nothing of itself")
    func failedWriteAppliesNothing() async throws {
        try await withStoreHome(.postgres) { home in
            let store = try await home.brokerState()
            try await store.applyRetainedChanges(
                upserts: [retained("kept", "1")],
                deletions: [],
                replacingAll: false,
                removingDocument: nil
            )
            // PostgreSQL text cannot hold NUL, so the last session's insert fails.
            await #expect(throws: (any Error).self) {
                try await store.applyBrokerState(
                    [
                        .upsertSession(session("a")), .upsertMessage(message("a", 1)),
                        .upsertSession(session("bad\u{0}")),
                    ],
                    retainedUpserts: [retained("new", "2")],
                    retainedDeletions: ["kept"],
                    removingDocument: nil
                )
            }
            #expect(try await store.loadSessionRows().isEmpty)
            #expect(try await store.loadSessionMessageRows().isEmpty)
            #expect(try await store.loadRetainedRows() == [retained("kept", "1")])
        }
    }

    @Test("saved_at comes from the injected clock")
    func injectedClock() async throws {
        try await withStoreHome(.postgres) { home in
            let database = try await home.openDatabase(PostgresBrokerStateSchema.migrations)
            let clock = NodeClock(now: { 1_700_000_000_123 }, monotonic: ManualClock())
            let store = PostgresBrokerStateStore(database: database, clock: clock)
            try await store.applyRetainedChanges(
                upserts: [retained("t", "v")],
                deletions: [],
                replacingAll: false,
                removingDocument: nil
            )
            #expect(try home.psql("SELECT saved_at FROM retained_messages") == "1700000000123\n")
        }
    }

    @Test("opening twice migrates once; a database from a newer build is refused")
    func migrations() async throws {
        try await withStoreHome(.postgres) { home in
            _ = try await home.brokerState()
            _ = try await home.brokerState()
            #expect(try home.psql("SELECT count(*) FROM reflex_migrations WHERE name LIKE 'broker %'") == "1\n")
            let future = PostgresMigration("broker v99: from the future", ["SELECT 1"])
            _ = try await home.openDatabase(PostgresBrokerStateSchema.migrations + [future])
            let error = await #expect(throws: StoreBackendError.self) {
                _ = try await home.openDatabase(PostgresBrokerStateSchema.migrations)
            }
            #expect(error?.message.contains("broker v99: from the future") == true)
        }
    }
}
