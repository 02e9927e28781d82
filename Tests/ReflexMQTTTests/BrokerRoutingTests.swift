import NIOCore
import NIOEmbedded
import OrderedCollections
import Testing

@testable import ReflexMQTT

@Suite("Broker: routing, QoS, retained, wills")
struct BrokerRoutingTests {
    @Test(
        "QoS is downgraded to the subscription's",
        arguments: [
            (QoS.exactlyOnce, QoS.atLeastOnce, QoS.atLeastOnce),
            (.atLeastOnce, .exactlyOnce, .atLeastOnce),
            (.exactlyOnce, .atMostOnce, .atMostOnce),
            (.atMostOnce, .exactlyOnce, .atMostOnce),
        ]
    )
    func qosDowngrade(published: QoS, subscribed: QoS, delivered: QoS) throws {
        let broker = BrokerHarness()
        let (subscriber, _) = try broker.connect("s")
        _ = try subscriber.subscribe("t", qos: subscribed)
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("t", "m", qos: published)
        let received = try subscriber.receivePublishes()
        #expect(received.map(\.qos) == [delivered])
    }

    @Test("QoS 2 from a client: a resent PUBLISH before PUBREL is not routed twice")
    func qos2ExactlyOnce() throws {
        let broker = BrokerHarness()
        let (subscriber, _) = try broker.connect("s")
        _ = try subscriber.subscribe("t", qos: .atMostOnce)
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("t", "once", qos: .exactlyOnce, packetID: 7)
        #expect(try publisher.receive() == [.pubrec(PublishAck(packetID: 7))])
        try publisher.send(
            .publish(
                Publish(topic: "t", payload: ByteBuffer(string: "once"), qos: .exactlyOnce, dup: true, packetID: 7)
            )
        )
        #expect(try publisher.receive() == [.pubrec(PublishAck(packetID: 7))])
        try publisher.send(.pubrel(PublishAck(packetID: 7)))
        #expect(try publisher.receive() == [.pubcomp(PublishAck(packetID: 7))])
        #expect(try subscriber.receivePublishes().map(\.text) == ["once"])
    }

    @Test("QoS 2 to a client: PUBREC is answered with PUBREL, PUBCOMP completes")
    func qos2Outgoing() throws {
        let broker = BrokerHarness()
        let (subscriber, _) = try broker.connect("s")
        _ = try subscriber.subscribe("t", qos: .exactlyOnce)
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("t", "m", qos: .exactlyOnce, packetID: 3)
        let delivered = try subscriber.receivePublishes()
        let id = try #require(delivered.first?.packetID)
        try subscriber.send(.pubrec(PublishAck(packetID: id)))
        #expect(try subscriber.receive() == [.pubrel(PublishAck(packetID: id))])
        try subscriber.send(.pubcomp(PublishAck(packetID: id)))
        #expect(broker.core.sessions["s"]?.inflight.isEmpty == true)
    }

    @Test("retained messages are set, replaced and deleted by an empty payload")
    func retained() throws {
        let broker = BrokerHarness()
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("status/pump", "on", retain: true)
        try publisher.publish("status/pump", "off", retain: true)
        let (first, _) = try broker.connect("s1")
        _ = try first.subscribe("status/#")
        let got = try first.receivePublishes()
        #expect(got.map(\.text) == ["off"])
        #expect(got.first?.retain == true)
        try publisher.publish("status/pump", "", retain: true)
        let (second, _) = try broker.connect("s2")
        _ = try second.subscribe("status/#")
        #expect(try second.receivePublishes().isEmpty)
    }

    @Test("retain handling 2 sends no retained messages; 1 only for a new subscription")
    func retainHandling() throws {
        let broker = BrokerHarness()
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("r", "kept", retain: true)
        let (client, _) = try broker.connect("s")
        _ = try client.subscribe("r", options: { $0.retainHandling = .doNotSend })
        #expect(try client.receivePublishes().isEmpty)
        _ = try client.subscribe("r/#", options: { $0.retainHandling = .sendIfNew })
        #expect(try client.receivePublishes().count == 1)
        _ = try client.subscribe("r/#", options: { $0.retainHandling = .sendIfNew })
        #expect(try client.receivePublishes().isEmpty)
    }

    @Test("retain as published keeps the flag on live deliveries; otherwise it is cleared")
    func retainAsPublished() throws {
        let broker = BrokerHarness()
        let (plain, _) = try broker.connect("plain")
        _ = try plain.subscribe("t")
        let (rap, _) = try broker.connect("rap")
        _ = try rap.subscribe("t", options: { $0.retainAsPublished = true })
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("t", "x", retain: true)
        #expect(try plain.receivePublishes().map(\.retain) == [false])
        #expect(try rap.receivePublishes().map(\.retain) == [true])
    }

    @Test("no local: a client does not receive its own messages, but others do, and it receives theirs")
    func noLocal() throws {
        let broker = BrokerHarness()
        let (client, _) = try broker.connect("c")
        _ = try client.subscribe("t", options: { $0.noLocal = true })
        let (other, _) = try broker.connect("other")
        _ = try other.subscribe("t")
        try client.publish("t", "mine")
        #expect(try client.receivePublishes().isEmpty)
        #expect(try other.receivePublishes().map(\.text) == ["mine"])  // routed, just not back
        try other.publish("t", "theirs")
        #expect(try client.receivePublishes().map(\.text) == ["theirs"])
        #expect(try other.receivePublishes().map(\.text) == ["theirs"])  // "other" did not ask for no local
    }

    @Test("the subscription identifier is sent with matching messages")
    func subscriptionIdentifier() throws {
        let broker = BrokerHarness()
        let (client, _) = try broker.connect("c")
        var properties = Properties()
        properties.subscriptionIdentifiers = [42]
        _ = try client.subscribe("t/#", properties: properties)
        let (publisher, _) = try broker.connect("p")
        try publisher.publish("t/1", "x")
        #expect(try client.receivePublishes().first?.properties.subscriptionIdentifiers == [42])
    }

    @Test("a will is published on an abnormal close and not on DISCONNECT")
    func wills() throws {
        let broker = BrokerHarness()
        let (watcher, _) = try broker.connect("w")
        _ = try watcher.subscribe("status/#")
        let will = Will(topic: "status/dev", payload: ByteBuffer(string: "offline"), qos: .atLeastOnce, retain: false)
        let (normal, _) = try broker.connect("a", will: will)
        try normal.send(.disconnect(Disconnect()))
        #expect(try watcher.receivePublishes().isEmpty)
        let (crashing, _) = try broker.connect("b", will: will)
        crashing.drop()
        #expect(try watcher.receivePublishes().map(\.text) == ["offline"])
    }

    @Test(
        "DISCONNECT with 0x04 or an error reason publishes the will",
        arguments: [
            ReasonCode.disconnectWithWillMessage, .unspecifiedError, .implementationSpecificError,
        ]
    )
    func disconnectWithWill(reason: ReasonCode) throws {
        let broker = BrokerHarness()
        let (watcher, _) = try broker.connect("w")
        _ = try watcher.subscribe("status/#")
        let (client, _) = try broker.connect(
            "a",
            will: Will(topic: "status/a", payload: ByteBuffer(string: "bye"), qos: .atMostOnce, retain: false)
        )
        try client.send(.disconnect(Disconnect(reasonCode: reason)))
        #expect(try watcher.receivePublishes().map(\.text) == ["bye"])
    }

    @Test("a will delay defers the will, and a reconnect within the delay cancels it")
    func willDelay() throws {
        let broker = BrokerHarness()
        let (watcher, _) = try broker.connect("w")
        _ = try watcher.subscribe("status/#")
        var willProperties = Properties()
        willProperties.willDelayInterval = 5
        var sessionProperties = Properties()
        sessionProperties.sessionExpiryInterval = 100
        let will = Will(
            topic: "status/d",
            payload: ByteBuffer(string: "gone"),
            qos: .atMostOnce,
            retain: false,
            properties: willProperties
        )
        let (client, _) = try broker.connect("d", will: will, properties: sessionProperties)
        client.drop()
        broker.advance(by: .seconds(4))
        #expect(try watcher.receivePublishes().isEmpty)
        broker.advance(by: .seconds(2))
        #expect(try watcher.receivePublishes().map(\.text) == ["gone"])

        let (again, _) = try broker.connect("d", cleanStart: false, will: will, properties: sessionProperties)
        again.drop()
        _ = try broker.connect("d", cleanStart: false, properties: sessionProperties)
        broker.advance(by: .seconds(10))
        #expect(try watcher.receivePublishes().isEmpty)
    }

    @Test("a message that expires while the subscriber is offline is not delivered")
    func messageExpiry() throws {
        let broker = BrokerHarness()
        var session = Properties()
        session.sessionExpiryInterval = 1000
        let (subscriber, _) = try broker.connect("s", properties: session)
        _ = try subscriber.subscribe("t", qos: .atLeastOnce)
        subscriber.drop()
        let (publisher, _) = try broker.connect("p")
        var shortLived = Properties()
        shortLived.messageExpiryInterval = 5
        try publisher.publish("t", "short", qos: .atLeastOnce, packetID: 1, properties: shortLived)
        var longLived = Properties()
        longLived.messageExpiryInterval = 60
        try publisher.publish("t", "long", qos: .atLeastOnce, packetID: 2, properties: longLived)
        broker.advance(by: .seconds(10))
        let (again, _) = try broker.connect("s", cleanStart: false, properties: session)
        let received = try again.receivePublishes()
        #expect(received.map(\.text) == ["long"])
        #expect((received.first?.properties.messageExpiryInterval ?? 0) <= 50)
    }

    @Test("user properties, content type, response topic and correlation data pass through")
    func propertiesPassThrough() throws {
        let broker = BrokerHarness()
        let (subscriber, _) = try broker.connect("s")
        _ = try subscriber.subscribe("req")
        let (publisher, _) = try broker.connect("p")
        var properties = Properties()
        properties.userProperties = [UserProperty(name: "site", value: "lyon"), UserProperty(name: "site", value: "b")]
        properties.contentType = "application/json"
        properties.responseTopic = "reply/1"
        properties.correlationData = ByteBuffer(bytes: [1, 2, 3])
        properties.payloadFormatIndicator = 1
        try publisher.publish("req", "{}", properties: properties)
        let got = try #require(try subscriber.receivePublishes().first)
        #expect(got.properties.userProperties == properties.userProperties)
        #expect(got.properties.contentType == "application/json")
        #expect(got.properties.responseTopic == "reply/1")
        #expect(got.properties.correlationData == ByteBuffer(bytes: [1, 2, 3]))
        #expect(got.properties.payloadFormatIndicator == 1)
    }

    @Test("a payload marked UTF-8 that is not gets PUBACK 0x99 and is not routed")
    func payloadFormatInvalid() throws {
        let broker = BrokerHarness()
        let (subscriber, _) = try broker.connect("s")
        _ = try subscriber.subscribe("t")
        let (publisher, _) = try broker.connect("p")
        var properties = Properties()
        properties.payloadFormatIndicator = 1
        try publisher.send(
            .publish(
                Publish(
                    topic: "t",
                    payload: ByteBuffer(bytes: [0xFF, 0xFE]),
                    qos: .atLeastOnce,
                    packetID: 9,
                    properties: properties
                )
            )
        )
        #expect(try publisher.receive() == [.puback(PublishAck(packetID: 9, reasonCode: .payloadFormatInvalid))])
        #expect(try subscriber.receivePublishes().isEmpty)
        #expect(publisher.isActive)
    }

    @Test("shared subscriptions deliver each message to exactly one member, round robin")
    func sharedSubscriptions() throws {
        let broker = BrokerHarness()
        var members: [TestClient] = []
        for i in 0..<3 {
            let (member, _) = try broker.connect("m\(i)")
            _ = try member.subscribe("$share/workers/jobs/#")
            members.append(member)
        }
        let (publisher, _) = try broker.connect("p")
        for i in 0..<9 { try publisher.publish("jobs/\(i)", "\(i)") }
        let counts = try members.map { try $0.receivePublishes().count }
        #expect(counts == [3, 3, 3])
    }

    @Test("wildcard subscribers do not see $SYS topics")
    func sysNotMatchedByWildcard() throws {
        let broker = BrokerHarness()
        let (all, _) = try broker.connect("all")
        _ = try all.subscribe("#")
        let (sys, _) = try broker.connect("sys")
        _ = try sys.subscribe("$SYS/#")
        SystemTopicsPublisher(core: broker.core).publish()
        broker.loop.run()
        #expect(try all.receivePublishes().isEmpty)
        #expect(try sys.receivePublishes().contains { $0.topic == "$SYS/broker/version" })
    }

    @Test("clients may not publish to $SYS")
    func noPublishToSys() throws {
        let broker = BrokerHarness()
        let (client, _) = try broker.connect("c")
        try client.publish("$SYS/broker/version", "fake", qos: .atLeastOnce, packetID: 4)
        #expect(try client.receive() == [.puback(PublishAck(packetID: 4, reasonCode: .notAuthorized))])
    }
}
