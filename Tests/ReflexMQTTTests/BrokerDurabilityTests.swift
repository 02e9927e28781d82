import Foundation
import NIOCore
import NIOEmbedded
import Testing

@testable import ReflexMQTT

@Suite("Broker: acknowledged QoS 1/2 state is durable before the PUBACK")
struct BrokerDurabilityTests {
    private func acks(_ client: TestClient, into seen: inout [Packet]) throws -> [Packet] {
        seen += try client.receive().filter {
            switch $0 {
            case .puback, .pubrec, .suback: true
            default: false
            }
        }
        return seen
    }

    /// A broker with an offline persistent subscriber of `q` and a journal writing to `store`.
    private func brokerWithOfflineSubscriber() throws -> (BrokerHarness, FakeBatchWriter) {
        let broker = BrokerHarness()
        let (subscriber, _) = try broker.connect("sub", version: .v311, cleanStart: false)
        _ = try subscriber.subscribe("q", qos: .atLeastOnce)
        try subscriber.send(.disconnect(Disconnect()))
        broker.loop.run()
        let writer = FakeBatchWriter(loop: broker.loop)
        broker.core.journal = writer.journal()
        return (broker, writer)
    }

    private func brokerWithJournal() -> (BrokerHarness, FakeBatchWriter) {
        let broker = BrokerHarness()
        let writer = FakeBatchWriter(loop: broker.loop)
        broker.core.journal = writer.journal()
        return (broker, writer)
    }

    @Test("the PUBACK of a message queued for an offline persistent session waits for its append")
    func pubackAfterAppend() throws {
        let (broker, writer) = try brokerWithOfflineSubscriber()
        let (publisher, _) = try broker.connect("pub")
        try publisher.publish("q", "m1", qos: .atLeastOnce, packetID: 1)
        var seen: [Packet] = []
        #expect(try acks(publisher, into: &seen).isEmpty, "no PUBACK before the write completes")
        #expect(writer.batches.count == 1)
        let batch = try #require(writer.batches.first)
        guard case .upsertSession(let record) = batch.sessionChanges.first,
            case .appendMessage(let clientID, let message) = batch.sessionChanges.last
        else {
            Issue.record("expected the session record and one append, got \(batch.sessionChanges)")
            return
        }
        #expect(record.clientID == "sub" && record.messages.isEmpty)
        #expect(clientID == "sub" && message.payload == Data("m1".utf8) && message.phase == .queued)
        #expect(message.sequence == 1)
        writer.complete()
        #expect(try acks(publisher, into: &seen).count == 1)
        guard case .puback(let ack) = seen.first else { throw HarnessError.unexpected("\(seen)") }
        #expect(ack.packetID == 1 && ack.reasonCode == .success)
    }

    @Test("publishes during a write share the next one (group commit); acknowledgements keep their order")
    func groupCommit() throws {
        let (broker, writer) = try brokerWithOfflineSubscriber()
        let (publisher, _) = try broker.connect("pub")
        try publisher.publish("q", "first", qos: .atLeastOnce, packetID: 1)
        #expect(writer.batches.count == 1)
        for id in UInt16(2)...4 { try publisher.publish("q", "m\(id)", qos: .atLeastOnce, packetID: id) }
        #expect(writer.batches.count == 1, "one write at a time")
        writer.complete()
        #expect(writer.batches.count == 2)
        #expect(writer.batches[1].sessionChanges.count == 3, "the three publishes in one batch")
        var seen: [Packet] = []
        #expect(try acks(publisher, into: &seen).count == 1)
        writer.complete()
        let ids = try acks(publisher, into: &seen).compactMap {
            if case .puback(let ack) = $0 { ack.packetID } else { nil }
        }
        #expect(ids == [1, 2, 3, 4])
    }

    @Test("a retained QoS 1 message is in the write its PUBACK waits for; QoS 0 waits for nothing")
    func retainedInTheBatch() throws {
        let (broker, writer) = brokerWithJournal()
        let (publisher, _) = try broker.connect("pub")
        try publisher.publish("r", "zero", qos: .atMostOnce, retain: true)
        broker.loop.run()
        #expect(writer.batches.isEmpty, "QoS 0 has no acknowledgement to hold")
        try publisher.publish("keep", "kept", qos: .atLeastOnce, retain: true, packetID: 2)
        var seen: [Packet] = []
        #expect(try acks(publisher, into: &seen).isEmpty)
        // The QoS 0 retained change rides along with the next write.
        #expect(Set(writer.batches.flatMap(\.retained.upserts).map(\.topic)) == ["r", "keep"])
        #expect(broker.core.retainedChanges.isEmpty)
        writer.complete()
        #expect(try acks(publisher, into: &seen).count == 1)
    }

    @Test("a failed write refuses the PUBACK (v5 0x80, 3.1.1 closes) and marks everything for the next save")
    func failedWrite() throws {
        let (broker, writer) = try brokerWithOfflineSubscriber()
        let (v5, _) = try broker.connect("pub5")
        try v5.publish("keep", "x", qos: .atLeastOnce, retain: true, packetID: 3)
        writer.complete(failing: true)
        var seen: [Packet] = []
        #expect(try acks(v5, into: &seen).count == 1)
        guard case .puback(let ack) = seen.first else { throw HarnessError.unexpected("\(seen)") }
        #expect(ack.reasonCode == .unspecifiedError)
        #expect(broker.core.retainedChanges.contains("keep"))
        #expect(broker.core.journal?.failedCommits == 1)
        let (v311, _) = try broker.connect("pub3", version: .v311)
        try v311.publish("q", "y", qos: .atLeastOnce, packetID: 4)
        writer.complete(failing: true)
        #expect(!v311.channel.isActive, "3.1.1 cannot refuse: closed without PUBACK, the client resends")
        #expect(broker.core.isDirty, "the next full save rewrites the sessions")
    }

    @Test("copies sent at once to an online persistent subscriber are stored too, and its PUBACK removes them")
    func onlineCopiesAndRemoval() throws {
        let broker = BrokerHarness()
        let (subscriber, _) = try broker.connect("sub", version: .v311, cleanStart: false)
        _ = try subscriber.subscribe("q", qos: .atLeastOnce)
        let writer = FakeBatchWriter(loop: broker.loop)
        broker.core.journal = writer.journal()
        let (publisher, _) = try broker.connect("pub")
        try publisher.publish("q", "live", qos: .atLeastOnce, packetID: 5)
        writer.complete()
        var seen: [Packet] = []
        #expect(try acks(publisher, into: &seen).count == 1)
        let appended = writer.batches.flatMap(\.sessionChanges).compactMap { change in
            if case .appendMessage(_, let message) = change { message } else { nil }
        }
        #expect(appended.map(\.phase) == [.awaitingAck])
        let delivered = try #require(try subscriber.receivePublishes().first)
        try subscriber.send(.puback(PublishAck(packetID: try #require(delivered.packetID))))
        broker.loop.run()
        // Lazy: recorded, written with the next batch.
        #expect(broker.core.journal?.changes == [.removeMessage(clientID: "sub", sequence: 1)])
        #expect(!writer.isWriting)
    }

    @Test("a persistent session's SUBACK waits for its record; a failed write answers 0x80 and unsubscribes")
    func subackAfterRecord() throws {
        let (broker, writer) = brokerWithJournal()
        let (client, _) = try broker.connect("sub", version: .v311, cleanStart: false)
        try client.send(.subscribe(Subscribe(packetID: 9, subscriptions: [.init(filter: "a/#", qos: .atLeastOnce)])))
        var seen: [Packet] = []
        #expect(try acks(client, into: &seen).isEmpty)
        guard case .upsertSession(let record) = writer.batches.first?.sessionChanges.first else {
            throw HarnessError.unexpected("no session record")
        }
        #expect(record.subscriptions.map(\.filter) == ["a/#"])
        writer.complete()
        #expect(try acks(client, into: &seen).count == 1)
        try client.send(.subscribe(Subscribe(packetID: 10, subscriptions: [.init(filter: "b/#", qos: .atLeastOnce)])))
        writer.complete(failing: true)
        #expect(try acks(client, into: &seen).count == 2)
        guard case .suback(let refused) = seen.last else { throw HarnessError.unexpected("\(seen)") }
        #expect(refused.reasonCodes == [.unspecifiedError])
        #expect(broker.core.sessions["sub"]?.subscriptions.keys.sorted() == ["a/#"])
    }

    @Test("session changes applied to a document: appends, phase, removal, record upsert keeps messages")
    func applyingChanges() {
        func message(_ sequence: Int64) -> PersistedMessage {
            PersistedMessage(
                packetID: nil,
                phase: .queued,
                topic: "q",
                payload: Data([UInt8(sequence)]),
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
        let record = PersistedSession(
            clientID: "a",
            protocolVersion: 4,
            expiryIntervalSeconds: 60,
            disconnectedAt: nil,
            subscriptions: [],
            messages: [],
            incomingQoS2PacketIDs: []
        )
        let sessions = [PersistedSession]().applying([
            .appendMessage(clientID: "a", message: message(1)),  // no session yet: ignored
            .upsertSession(record),
            .appendMessage(clientID: "a", message: message(2)),
            .appendMessage(clientID: "a", message: message(3)),
            .updateMessage(clientID: "a", sequence: 3, phase: .awaitingComplete, packetID: 4),
            .removeMessage(clientID: "a", sequence: 2),
            .upsertSession(record),
        ])
        var third = message(3)
        third.phase = .awaitingComplete
        third.packetID = 4
        #expect(sessions.map(\.messages) == [[third]])
        #expect(sessions.applying([.removeSession(clientID: "a")]).isEmpty)
    }
}
