import NIOCore
import Testing

@testable import ReflexMQTT

@Suite("Broker: limits, aliases and bad input")
struct BrokerLimitsTests {
    @Test("a client topic alias is remembered and resolves alias-only publishes")
    func incomingTopicAlias() throws {
        let broker = BrokerHarness()
        let (subscriber, _) = try broker.connect("s")
        _ = try subscriber.subscribe("long/topic/name")
        let (publisher, _) = try broker.connect("p")
        var alias = Properties()
        alias.topicAlias = 3
        try publisher.publish("long/topic/name", "first", properties: alias)
        try publisher.publish("", "second", properties: alias)
        #expect(try subscriber.receivePublishes().map(\.text) == ["first", "second"])
    }

    @Test("a topic alias above the announced maximum closes with 0x94")
    func topicAliasTooLarge() throws {
        let broker = BrokerHarness { $0.topicAliasMaximum = 4 }
        let (publisher, _) = try broker.connect("p")
        var alias = Properties()
        alias.topicAlias = 5
        try publisher.publish("t", "x", properties: alias)
        let packets = try publisher.receive()
        #expect(
            packets.contains { if case .disconnect(let d) = $0 { d.reasonCode == .topicAliasInvalid } else { false } }
        )
        #expect(!publisher.isActive)
    }

    @Test("outgoing topic aliases are used toward clients that allow them")
    func outgoingTopicAlias() throws {
        let broker = BrokerHarness()
        var properties = Properties()
        properties.topicAliasMaximum = 2
        let (subscriber, _) = try broker.connect("s", properties: properties)
        _ = try subscriber.subscribe("a/#")
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("a/1", "x")
        try publisher.publish("a/1", "y")
        let got = try subscriber.receivePublishes()
        #expect(got.map(\.topic) == ["a/1", ""])
        #expect(got.map(\.properties.topicAlias) == [1, 1])
    }

    @Test("a message larger than the client's maximum packet size is not sent to it")
    func clientMaximumPacketSize() throws {
        let broker = BrokerHarness()
        var properties = Properties()
        properties.maximumPacketSize = 64
        let (subscriber, _) = try broker.connect("s", properties: properties)
        _ = try subscriber.subscribe("t", qos: .atLeastOnce)
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("t", String(repeating: "x", count: 200), qos: .atLeastOnce)
        try publisher.publish("t", "small", qos: .atLeastOnce, packetID: 2)
        #expect(try subscriber.receivePublishes().map(\.text) == ["small"])
        #expect(broker.core.statistics.oversizeDropped == 1)
    }

    @Test("no more than the inflight window is sent before acknowledgements")
    func inflightWindow() throws {
        let broker = BrokerHarness { $0.maxInflight = 2 }
        let (subscriber, _) = try broker.connect("s")
        _ = try subscriber.subscribe("t", qos: .atLeastOnce)
        let (publisher, _) = try broker.connect("p")
        for i in 1...5 { try publisher.publish("t", "\(i)", qos: .atLeastOnce, packetID: UInt16(i)) }
        let first = try subscriber.receivePublishes()
        #expect(first.map(\.text) == ["1", "2"])
        try subscriber.send(.puback(PublishAck(packetID: first[0].packetID ?? 0)))
        #expect(try subscriber.receivePublishes().map(\.text) == ["3"])
    }

    @Test("a full queue disconnects the slow consumer with 0x97 and counts the drop")
    func slowConsumer() throws {
        let broker = BrokerHarness {
            $0.maxInflight = 1
            $0.maxQueuedMessages = 3
        }
        let (subscriber, _) = try broker.connect("slow")
        _ = try subscriber.subscribe("t", qos: .atLeastOnce)
        let (publisher, _) = try broker.connect("p")
        for i in 1...5 { try publisher.publish("t", "\(i)", qos: .atLeastOnce, packetID: UInt16(i)) }
        let packets = try subscriber.receive()
        #expect(packets.contains { if case .disconnect(let d) = $0 { d.reasonCode == .quotaExceeded } else { false } })
        #expect(!subscriber.isActive)
        #expect(broker.core.statistics.droppedReliable == 1)
        #expect(broker.core.statistics.slowClientDisconnects == 1)
        #expect(publisher.isActive)
    }

    @Test("with the drop policy, QoS 0 and QoS 1 overflow are dropped and counted per client")
    func dropPolicy() throws {
        let broker = BrokerHarness {
            $0.maxInflight = 1
            $0.maxQueuedMessages = 2
            $0.queueOverflowPolicy = .dropNewest
        }
        // Both stay connected and subscribe at QoS 1 (QoS 0 messages reach them at QoS 0).
        // "slow" never acknowledges: one message in flight, then its queue of 2 fills.
        // "fast" acknowledges everything and must get every message.
        let (slow, _) = try broker.connect("slow")
        _ = try slow.subscribe("t", qos: .atLeastOnce)
        let (fast, _) = try broker.connect("fast")
        _ = try fast.subscribe("t", qos: .atLeastOnce)
        let (publisher, _) = try broker.connect("p")
        var fastReceived: [Publish] = []
        let sent: [(text: String, qos: QoS)] = [
            ("1", .atLeastOnce),  // slow: in flight
            ("2", .atLeastOnce),  // slow: queued
            ("3", .atMostOnce),  // slow: queued behind it (the queue is not empty)
            ("4", .atMostOnce),  // slow: queue full, QoS 0 dropped
            ("5", .atLeastOnce),  // slow: queue full, QoS 1 dropped
            ("6", .atMostOnce),  // slow: queue full, QoS 0 dropped
        ]
        for (index, message) in sent.enumerated() {
            try publisher.publish("t", message.text, qos: message.qos, packetID: UInt16(index + 1))
            for publish in try fast.receivePublishes() {
                fastReceived.append(publish)
                if let id = publish.packetID { try fast.send(.puback(PublishAck(packetID: id))) }
            }
        }
        #expect(fastReceived.map(\.text) == ["1", "2", "3", "4", "5", "6"])
        #expect(fastReceived.map(\.qos) == sent.map(\.qos))

        let slowSession = try #require(broker.core.sessions["slow"])
        #expect(slowSession.queue.count == 2)
        #expect(slowSession.droppedMessages == 3)  // "4", "5", "6"
        #expect(slowSession.droppedReliableMessages == 1)  // "5"
        let fastSession = try #require(broker.core.sessions["fast"])
        #expect(fastSession.queue.isEmpty)
        #expect(fastSession.droppedMessages == 0)
        #expect(fastSession.droppedReliableMessages == 0)
        #expect(broker.core.statistics.droppedQoS0 == 2)
        #expect(broker.core.statistics.droppedReliable == 1)
        #expect(broker.core.statistics.slowClientDisconnects == 0)
        #expect(slow.isActive && fast.isActive)

        // The slow client keeps the oldest messages: acknowledging "1" lets "2" and "3" through.
        let first = try slow.receivePublishes()
        #expect(first.map(\.text) == ["1"])
        try slow.send(.puback(PublishAck(packetID: first[0].packetID ?? 0)))
        #expect(try slow.receivePublishes().map(\.text) == ["2", "3"])
    }

    @Test("with the drop policy, QoS 1 overflow for an offline persistent session is dropped and counted")
    func dropPolicyOffline() throws {
        let broker = BrokerHarness {
            $0.maxInflight = 1
            $0.maxQueuedMessages = 2
            $0.queueOverflowPolicy = .dropNewest
        }
        var expiry = Properties()
        expiry.sessionExpiryInterval = 100
        let (subscriber, _) = try broker.connect("slow", properties: expiry)
        _ = try subscriber.subscribe("t", qos: .atLeastOnce)
        subscriber.drop()
        let (publisher, _) = try broker.connect("p")
        for i in 1...5 { try publisher.publish("t", "\(i)", qos: .atLeastOnce, packetID: UInt16(i)) }
        let session = try #require(broker.core.sessions["slow"])
        #expect(session.queue.count == 2)
        #expect(session.droppedReliableMessages == 3)
    }

    @Test(
        "a malformed packet closes only its own connection",
        arguments: [
            [UInt8]([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),  // 5-byte remaining length
            [0x00, 0x00],  // reserved packet type 0
            [0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00],  // SUBSCRIBE with reserved flags wrong
            [0x30, 0x05, 0x00, 0x02, 0xC3, 0x28, 0x00],  // topic with invalid UTF-8
        ]
    )
    func malformedIsolation(bytes: [UInt8]) throws {
        let broker = BrokerHarness()
        let (healthy, _) = try broker.connect("healthy")
        _ = try healthy.subscribe("t")
        let (bad, _) = try broker.connect("bad")
        try bad.sendRaw(bytes)
        let answer = try bad.receive()
        #expect(!bad.isActive)
        #expect(answer.allSatisfy { if case .disconnect(let d) = $0 { d.reasonCode.isFailure } else { false } })
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("t", "still here")
        #expect(try healthy.receivePublishes().map(\.text) == ["still here"])
        #expect(broker.core.statistics.malformedPackets + broker.core.statistics.protocolErrors == 1)
    }

    @Test("a second CONNECT is a protocol error (0x82)")
    func secondConnect() throws {
        let broker = BrokerHarness()
        let (client, _) = try broker.connect("c")
        try client.send(.connect(Connect(version: .v5, cleanStart: true, keepAliveSeconds: 0, clientID: "c")))
        let packets = try client.receive()
        #expect(packets.contains { if case .disconnect(let d) = $0 { d.reasonCode == .protocolError } else { false } })
        #expect(!client.isActive)
    }

    @Test("a packet before CONNECT closes the connection")
    func packetBeforeConnect() throws {
        let broker = BrokerHarness()
        let client = try broker.open()
        try client.send(.pingreq)
        #expect(!client.isActive)
    }

    @Test("protocol level 3 gets a 3.1.1-format CONNACK 0x01")
    func unsupportedVersion() throws {
        let broker = BrokerHarness()
        let client = try broker.open(version: .v311)
        // CONNECT, "MQIsdp" level 3, clean session, keep-alive 60, client id "a"
        try client.sendRaw([
            0x10, 0x0F, 0x00, 0x06, 0x4D, 0x51, 0x49, 0x73, 0x64, 0x70, 0x03, 0x02, 0x00, 0x3C, 0x00, 0x01, 0x61,
        ])
        let packets = try client.receive()
        #expect(packets == [.connack(ConnAck(sessionPresent: false, reasonCode: .unsupportedProtocolVersion))])
        #expect(!client.isActive)
    }

    @Test("the connection limit refuses CONNECT with server busy")
    func connectionLimit() throws {
        let broker = BrokerHarness { $0.maxConnections = 1 }
        _ = try broker.connect("a")
        let (_, ack) = try broker.connect("b")
        #expect(ack.reasonCode == .serverBusy)
    }

    @Test("a topic filter that breaks the rules gets SUBACK 0x8F, the others are granted")
    func invalidFilter() throws {
        let broker = BrokerHarness()
        let (client, _) = try broker.connect("c")
        try client.send(
            .subscribe(
                Subscribe(
                    packetID: 5,
                    subscriptions: [
                        SubscriptionRequest(filter: "a/#/b", qos: .atLeastOnce),
                        SubscriptionRequest(filter: "a/+", qos: .exactlyOnce),
                    ]
                )
            )
        )
        #expect(
            try client.receive() == [.suback(SubAck(packetID: 5, reasonCodes: [.topicFilterInvalid, .grantedQoS2]))]
        )
    }
}
