import NIOCore
import NIOEmbedded
import OrderedCollections
import Testing

@testable import ReflexMQTT

@Suite("Broker: connect, sessions and takeover")
struct BrokerSessionTests {
    @Test("a v5 CONNECT gets a CONNACK announcing the broker's limits")
    func connectAnnouncesLimits() throws {
        let broker = BrokerHarness {
            $0.maxInflight = 32
            $0.maxPacketSize = 4096
        }
        let (_, ack) = try broker.connect("c1")
        #expect(ack.reasonCode == .success)
        #expect(ack.sessionPresent == false)
        #expect(ack.properties.receiveMaximum == 32)
        #expect(ack.properties.maximumPacketSize == 4096)
        #expect(ack.properties.topicAliasMaximum == 64)
    }

    @Test("an empty v5 client id gets an assigned client identifier")
    func assignedClientIdentifier() throws {
        let broker = BrokerHarness()
        let (_, ack) = try broker.connect("")
        let assigned = try #require(ack.properties.assignedClientIdentifier)
        #expect(assigned.hasPrefix("reflex-"))
        #expect(broker.core.sessions[assigned] != nil)
    }

    @Test("an empty 3.1.1 client id with clean session 0 is refused with 0x02")
    func emptyIDWithoutCleanSession() throws {
        let broker = BrokerHarness()
        let (client, ack) = try broker.connect("", version: .v311, cleanStart: false)
        #expect(ack.reasonCode == .clientIdentifierNotValid)
        #expect(!client.isActive)
    }

    @Test("a second connection with the same client id takes over; v5 gets DISCONNECT 0x8E")
    func sessionTakeover() throws {
        let broker = BrokerHarness()
        let (first, _) = try broker.connect("dup")
        let (second, ack) = try broker.connect("dup")
        #expect(ack.reasonCode == .success)
        let packets = try first.receive()
        #expect(
            packets.contains(
                .disconnect(
                    Disconnect(
                        reasonCode: .sessionTakenOver,
                        properties: {
                            var p = Properties()
                            p.reasonString = "another connection uses this client id"
                            return p
                        }()
                    )
                )
            )
        )
        #expect(!first.isActive)
        #expect(second.isActive)
        #expect(broker.core.connectedClients == 1)
    }

    @Test("QoS 1 messages published while a persistent client is offline arrive on reconnect")
    func persistentSessionQueuesWhileOffline() throws {
        let broker = BrokerHarness()
        var expiry = Properties()
        expiry.sessionExpiryInterval = 3600
        let (subscriber, _) = try broker.connect("sub", cleanStart: true, properties: expiry)
        _ = try subscriber.subscribe("plant/+/temp", qos: .atLeastOnce)
        try subscriber.send(.disconnect(Disconnect()))
        let (publisher, _) = try broker.connect("pub")
        for i in 1...3 {
            try publisher.publish("plant/\(i)/temp", "\(i)", qos: .atLeastOnce, packetID: UInt16(i))
        }
        let (again, ack) = try broker.connect("sub", cleanStart: false, properties: expiry)
        #expect(ack.sessionPresent)
        let received = try again.receivePublishes()
        #expect(received.map(\.text) == ["1", "2", "3"])
        #expect(received.allSatisfy { $0.qos == .atLeastOnce && $0.packetID != nil })
    }

    @Test("an unacknowledged QoS 1 message is redelivered with DUP after reconnect")
    func redeliveryWithDup() throws {
        let broker = BrokerHarness()
        let (subscriber, _) = try broker.connect("sub", version: .v311, cleanStart: false)
        _ = try subscriber.subscribe("a/b", qos: .atLeastOnce)
        let (publisher, _) = try broker.connect("pub", version: .v311)
        try publisher.publish("a/b", "hello", qos: .atLeastOnce)
        let first = try subscriber.receivePublishes()
        #expect(first.count == 1 && first[0].dup == false)
        subscriber.drop()
        let (again, ack) = try broker.connect("sub", version: .v311, cleanStart: false)
        #expect(ack.sessionPresent)
        let redelivered = try again.receivePublishes()
        #expect(redelivered.count == 1)
        #expect(redelivered.first?.dup == true)
        #expect(redelivered.first?.packetID == first[0].packetID)
        try again.send(.puback(PublishAck(packetID: first[0].packetID ?? 0)))
        #expect(broker.core.sessions["sub"]?.inflight.isEmpty == true)
    }

    @Test("a clean-start session ends at disconnect and forgets its subscriptions")
    func cleanSessionEnds() throws {
        let broker = BrokerHarness()
        let (client, _) = try broker.connect("c", version: .v311, cleanStart: true)
        _ = try client.subscribe("x/#")
        #expect(broker.core.subscriptions.count == 1)
        try client.send(.disconnect(Disconnect()))
        #expect(broker.core.sessions["c"] == nil)
        #expect(broker.core.subscriptions.count == 0)
    }

    @Test("a v5 session expires after its expiry interval")
    func sessionExpiry() throws {
        let broker = BrokerHarness()
        var properties = Properties()
        properties.sessionExpiryInterval = 10
        let (client, _) = try broker.connect("c", properties: properties)
        _ = try client.subscribe("x")
        client.drop()
        broker.advance(by: .seconds(9))
        #expect(broker.core.sessions["c"] != nil)
        broker.advance(by: .seconds(2))
        #expect(broker.core.sessions["c"] == nil)
        #expect(broker.core.subscriptions.count == 0)
    }

    @Test("keep-alive: a silent client is closed after 1.5 x keep-alive with 0x8D")
    func keepAliveTimeout() throws {
        let broker = BrokerHarness()
        let (client, _) = try broker.connect("c", keepAlive: 10)
        broker.advance(by: .seconds(14))
        #expect(client.isActive)
        try client.send(.pingreq)
        #expect(try client.receive() == [.pingresp])
        broker.advance(by: .seconds(14))
        #expect(client.isActive)
        broker.advance(by: .seconds(2))
        let packets = try client.receive()
        #expect(
            packets.first.map { if case .disconnect(let d) = $0 { d.reasonCode == .keepAliveTimeout } else { false } }
                == true
        )
        #expect(!client.isActive)
    }

    @Test("a client that never sends CONNECT is closed after 10 s")
    func connectTimeout() throws {
        let broker = BrokerHarness()
        let client = try broker.open()
        broker.advance(by: .seconds(11))
        #expect(!client.isActive)
    }
}
