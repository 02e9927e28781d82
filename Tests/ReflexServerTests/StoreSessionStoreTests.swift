import Foundation
import Logging
import ReflexMQTT
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

@Suite struct StoreSessionStoreTests {
    @Test("sessions and retained messages round-trip through samples.sqlite and survive reopening")
    func roundTrip() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let message = PersistedMessage(
                packetID: 7,
                phase: .awaitingAck,
                topic: "devices/d/commands/stop",
                payload: Data("{}".utf8),
                qos: 1,
                retain: false,
                expiresAt: Date(timeIntervalSince1970: 2_000_000_000),
                contentType: "application/json",
                responseTopic: nil,
                correlationData: Data([1, 2]),
                payloadFormatIndicator: 1,
                userProperties: [UserProperty(name: "k", value: "v")],
                subscriptionIdentifiers: [3],
                sequence: 1  // the key of its row: stored messages always have one
            )
            let session = PersistedSession(
                clientID: "d",
                protocolVersion: 5,
                expiryIntervalSeconds: 3600,
                disconnectedAt: Date(timeIntervalSince1970: 1_900_000_000),
                subscriptions: [
                    PersistedSubscription(
                        filter: "devices/d/commands/#",
                        qos: 1,
                        noLocal: false,
                        retainAsPublished: true,
                        retainHandling: 1,
                        subscriptionIdentifier: 3
                    )
                ],
                messages: [message],
                incomingQoS2PacketIDs: [9]
            )
            let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            do {
                let store = try SQLiteSampleStore(configuration: .init(directory: directory), logger: logger)
                let sessions = StoreSessionStore(store: store)
                #expect(try await sessions.loadSessions().isEmpty)
                try await sessions.saveSessions([session])
                try await sessions.saveRetainedMessages([message])
            }
            let reopened = StoreSessionStore(
                store: try SQLiteSampleStore(configuration: .init(directory: directory), logger: logger)
            )
            #expect(try await reopened.loadSessions() == [session])
            #expect(try await reopened.loadRetainedMessages() == [message])
        }
    }
}
