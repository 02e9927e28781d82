import Foundation
import Logging
import ReflexMQTT
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

@Suite struct StoreSessionStoreRetainedTests {
    private static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func retained(_ topic: String, _ payload: String, owner: String? = "pumpA") -> PersistedMessage {
        PersistedMessage(
            packetID: nil,
            phase: .queued,
            topic: topic,
            payload: Data(payload.utf8),
            qos: 1,
            retain: true,
            expiresAt: nil,
            contentType: nil,
            responseTopic: nil,
            correlationData: nil,
            payloadFormatIndicator: nil,
            userProperties: [],
            subscriptionIdentifiers: [],
            owner: owner.map { PersistedOwner(principal: $0, roles: ["device"]) }
        )
    }

    @Test("retained changes replace and delete single rows; the others and their owners stay")
    func incrementalRows() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let samples = try SQLiteSampleStore(configuration: .init(directory: directory), logger: Self.logger)
            let store = StoreSessionStore(store: samples)
            try await store.saveRetainedChanges(
                RetainedChanges(upserts: [Self.retained("a", "1"), Self.retained("b", "2"), Self.retained("c", "3")])
            )
            try await store.saveRetainedChanges(RetainedChanges(upserts: [Self.retained("b", "22")], deletions: ["c"]))
            let loaded = try await store.loadRetainedMessages()
            #expect(loaded == [Self.retained("a", "1"), Self.retained("b", "22")])
            // Payloads have their own column: the metadata row does not carry them.
            let rows = try await samples.loadRetainedRows()
            #expect(rows.map(\.payload) == [Data("1".utf8), Data("22".utf8)])
            #expect(rows.allSatisfy { !String(decoding: $0.metadata, as: UTF8.self).contains("\"payload\":\"MQ") })
        }
    }

    @Test("a retained document saved before rows is migrated to rows at the first load, and removed")
    func legacyDocumentMigrates() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let samples = try SQLiteSampleStore(configuration: .init(directory: directory), logger: Self.logger)
            let legacy = [Self.retained("x", "old", owner: nil), Self.retained("y", "old2", owner: nil)]
            try await samples.saveBrokerState(try JSONEncoder().encode(legacy), for: "mqtt.retained.v1")
            let store = StoreSessionStore(store: samples)
            #expect(try await store.loadRetainedMessages() == legacy)
            #expect(try await samples.loadBrokerState(for: "mqtt.retained.v1") == nil)
            #expect(try await samples.loadRetainedRows().map(\.topic) == ["x", "y"])
            #expect(try await store.loadRetainedMessages() == legacy)
        }
    }

    @Test("a full replacement removes the rows it does not name")
    func fullReplacement() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let samples = try SQLiteSampleStore(configuration: .init(directory: directory), logger: Self.logger)
            let store = StoreSessionStore(store: samples)
            try await store.saveRetainedChanges(RetainedChanges(upserts: [Self.retained("a", "1")]))
            try await store.saveRetainedMessages([Self.retained("b", "2")])
            #expect(try await store.loadRetainedMessages() == [Self.retained("b", "2")])
        }
    }
}
