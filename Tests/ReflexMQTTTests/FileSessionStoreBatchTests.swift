import Foundation
import Testing

@testable import ReflexMQTT

@Suite struct FileSessionStoreBatchTests {
    private static func message(_ text: String, sequence: Int64) -> PersistedMessage {
        PersistedMessage(
            packetID: nil,
            phase: .queued,
            topic: "q",
            payload: Data(text.utf8),
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

    @Test("a one-document store applies a batch through the default: read, apply in order, save whole")
    func defaultApply() async throws {
        let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("reflex-batch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FileSessionStore(path: (directory as NSString).appendingPathComponent("sessions.json"))
        let record = PersistedSession(
            clientID: "sub",
            protocolVersion: 4,
            expiryIntervalSeconds: 3600,
            disconnectedAt: nil,
            subscriptions: [],
            messages: [],
            incomingQoS2PacketIDs: []
        )
        var retained = Self.message("kept", sequence: 0)
        retained.topic = "keep"
        retained.retain = true
        try await store.apply(
            BrokerStateBatch(
                sessionChanges: [
                    .upsertSession(record),
                    .appendMessage(clientID: "sub", message: Self.message("1", sequence: 1)),
                    .appendMessage(clientID: "sub", message: Self.message("2", sequence: 2)),
                ],
                retained: RetainedChanges(upserts: [retained])
            )
        )
        try await store.apply(BrokerStateBatch(sessionChanges: [.removeMessage(clientID: "sub", sequence: 1)]))
        let reopened = FileSessionStore(path: store.path)
        #expect(try await reopened.loadSessions().map(\.messages) == [[Self.message("2", sequence: 2)]])
        #expect(try await reopened.loadRetainedMessages() == [retained])
    }
}
