import Foundation
import Logging
import ReflexMQTT
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

@Suite struct StoreSessionStoreSessionsTests {
    private static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func message(_ payload: String, sequence: Int64?, topic: String = "q") -> PersistedMessage {
        PersistedMessage(
            packetID: nil,
            phase: .queued,
            topic: topic,
            payload: Data(payload.utf8),
            qos: 1,
            retain: false,
            expiresAt: nil,
            contentType: nil,
            responseTopic: nil,
            correlationData: nil,
            payloadFormatIndicator: nil,
            userProperties: [],
            subscriptionIdentifiers: [],
            sequence: sequence
        )
    }

    private static func session(_ clientID: String, messages: [PersistedMessage] = []) -> PersistedSession {
        PersistedSession(
            clientID: clientID,
            protocolVersion: 4,
            expiryIntervalSeconds: 3600,
            disconnectedAt: nil,
            subscriptions: [
                PersistedSubscription(
                    filter: "q",
                    qos: 1,
                    noLocal: false,
                    retainAsPublished: false,
                    retainHandling: 0,
                    subscriptionIdentifier: nil
                )
            ],
            messages: messages,
            incomingQoS2PacketIDs: [],
            owner: PersistedOwner(principal: clientID, roles: ["device"])
        )
    }

    @Test("appends, phase updates and removals touch single message rows; the session record stays")
    func incrementalMessages() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let samples = try SQLiteSampleStore(configuration: .init(directory: directory), logger: Self.logger)
            let store = StoreSessionStore(store: samples)
            try await store.apply(
                BrokerStateBatch(sessionChanges: [
                    .upsertSession(Self.session("sub")),
                    .appendMessage(clientID: "sub", message: Self.message("1", sequence: 1)),
                    .appendMessage(clientID: "sub", message: Self.message("2", sequence: 2)),
                    .appendMessage(clientID: "sub", message: Self.message("3", sequence: 3)),
                ])
            )
            try await store.apply(
                BrokerStateBatch(sessionChanges: [
                    .updateMessage(clientID: "sub", sequence: 2, phase: .awaitingAck, packetID: 7),
                    .removeMessage(clientID: "sub", sequence: 1),
                ])
            )
            let loaded = try await store.loadSessions()
            #expect(loaded.map(\.clientID) == ["sub"])
            #expect(loaded.first?.subscriptions.map(\.filter) == ["q"])
            var sent = Self.message("2", sequence: 2)
            sent.phase = .awaitingAck
            sent.packetID = 7
            #expect(loaded.first?.messages == [sent, Self.message("3", sequence: 3)])
            // The payload has its own column; the record row holds no messages.
            let rows = try await samples.loadSessionMessageRows()
            #expect(rows.map(\.payload) == [Data("2".utf8), Data("3".utf8)])
            #expect(rows.map(\.sequence) == [2, 3])
            // Replacing the record keeps the messages.
            try await store.apply(BrokerStateBatch(sessionChanges: [.upsertSession(Self.session("sub"))]))
            #expect(try await store.loadSessions().first?.messages.count == 2)
            // The session ends: its record and messages go, in order with a new one's append.
            try await store.apply(
                BrokerStateBatch(sessionChanges: [
                    .removeSession(clientID: "sub"),
                    .upsertSession(Self.session("sub")),
                    .appendMessage(clientID: "sub", message: Self.message("new", sequence: 4)),
                ])
            )
            #expect(try await store.loadSessions().first?.messages == [Self.message("new", sequence: 4)])
        }
    }

    @Test("a batch is one transaction with its retained changes; a full replacement deletes the rest")
    func replaceAllAndRetained() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let samples = try SQLiteSampleStore(configuration: .init(directory: directory), logger: Self.logger)
            let store = StoreSessionStore(store: samples)
            var retained = Self.message("r", sequence: nil, topic: "keep")
            retained.retain = true
            try await store.apply(
                BrokerStateBatch(
                    sessionChanges: [
                        .upsertSession(Self.session("a")),
                        .appendMessage(clientID: "a", message: Self.message("1", sequence: 1)),
                    ],
                    retained: RetainedChanges(upserts: [retained])
                )
            )
            #expect(try await store.loadRetainedMessages() == [retained])
            try await store.saveSessions([Self.session("b", messages: [Self.message("x", sequence: 9)])])
            let loaded = try await store.loadSessions()
            #expect(loaded.map(\.clientID) == ["b"])
            #expect(loaded.first?.messages == [Self.message("x", sequence: 9)])
        }
    }

    @Test("sessions saved as one document before rows are migrated at the first load, numbered, and removed")
    func legacyDocumentMigrates() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let samples = try SQLiteSampleStore(configuration: .init(directory: directory), logger: Self.logger)
            let legacy = [
                Self.session("a", messages: [Self.message("1", sequence: nil), Self.message("2", sequence: nil)]),
                Self.session("b", messages: [Self.message("3", sequence: nil)]),
            ]
            try await samples.saveBrokerState(try JSONEncoder().encode(legacy), for: "mqtt.sessions.v1")
            let store = StoreSessionStore(store: samples)
            let loaded = try await store.loadSessions()
            #expect(loaded.map(\.clientID) == ["a", "b"])
            #expect(
                loaded.map { $0.messages.map { String(decoding: $0.payload, as: UTF8.self) } } == [["1", "2"], ["3"]]
            )
            #expect(loaded.flatMap(\.messages).map(\.sequence) == [1, 2, 3])
            #expect(try await samples.loadBrokerState(for: "mqtt.sessions.v1") == nil)
            #expect(try await store.loadSessions() == loaded)
        }
    }

    @Test("an unreadable session row is an error naming the client and how to delete it")
    func corruptRow() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let samples = try SQLiteSampleStore(configuration: .init(directory: directory), logger: Self.logger)
            try await samples.applyBrokerState([
                .upsertSession(BrokerStateWrite.SessionRow(clientID: "bad", metadata: Data("{".utf8)))
            ])
            let store = StoreSessionStore(store: samples)
            await #expect {
                _ = try await store.loadSessions()
            } throws: { error in
                "\(error)".contains("client 'bad'") && "\(error)".contains("DELETE FROM mqtt_sessions")
            }
        }
    }
}
