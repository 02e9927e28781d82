import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import ReflexMQTT

/// An interceptor whose deferred work the test completes by hand.
final class ManualInterceptor: PublishInterceptor {
    enum Mode {
        case accept
        case reject(ReasonCode)
        case deferred
    }
    let mode: Mode
    let promises = Mutex<[EventLoopPromise<ReasonCode>]>([])
    let seen = Mutex<[String]>([])

    init(_ mode: Mode) { self.mode = mode }

    func intercept(_ publish: InterceptedPublish, eventLoop: any EventLoop) -> PublishDisposition {
        seen.withLock { $0.append(publish.topic) }
        switch mode {
        case .accept: return .accept
        case .reject(let code): return .reject(code)
        case .deferred:
            let promise = eventLoop.makePromise(of: ReasonCode.self)
            promises.withLock { $0.append(promise) }
            return .acceptAfter(promise.futureResult)
        }
    }

    func complete(_ index: Int, with reason: ReasonCode) {
        let promise = promises.withLock { $0[index] }
        promise.succeed(reason)
    }
}

@Suite("Broker: publish interceptor (acknowledge after work)")
struct PublishInterceptorTests {
    @Test("a deferred PUBACK waits for the work, and acknowledgements keep PUBLISH order")
    func deferredAcksInOrder() throws {
        let interceptor = ManualInterceptor(.deferred)
        let broker = BrokerHarness(interceptor: interceptor)
        let (client, _) = try broker.connect("dev")
        try client.publish("devices/dev/telemetry", "1", qos: .atLeastOnce, packetID: 1)
        try client.publish("devices/dev/telemetry", "2", qos: .atLeastOnce, packetID: 2)
        #expect(try client.receive().isEmpty)
        interceptor.complete(1, with: .success)
        broker.loop.run()
        #expect(try client.receive().isEmpty)  // the second is done, the first is not
        interceptor.complete(0, with: .success)
        broker.loop.run()
        #expect(try client.receive() == [.puback(PublishAck(packetID: 1)), .puback(PublishAck(packetID: 2))])
    }

    @Test("a failed deferred publish gets its v5 failure code")
    func deferredFailureV5() throws {
        let interceptor = ManualInterceptor(.deferred)
        let broker = BrokerHarness(interceptor: interceptor)
        let (client, _) = try broker.connect("dev")
        try client.publish("t", "x", qos: .atLeastOnce, packetID: 5)
        interceptor.complete(0, with: .quotaExceeded)
        broker.loop.run()
        #expect(try client.receive() == [.puback(PublishAck(packetID: 5, reasonCode: .quotaExceeded))])
        #expect(client.isActive)
    }

    @Test("a failed deferred publish from a 3.1.1 client closes the connection without PUBACK")
    func deferredFailureV311() throws {
        let interceptor = ManualInterceptor(.deferred)
        let broker = BrokerHarness(interceptor: interceptor)
        let (client, _) = try broker.connect("dev", version: .v311)
        try client.publish("t", "x", qos: .atLeastOnce, packetID: 5)
        interceptor.complete(0, with: .unspecifiedError)
        broker.loop.run()
        #expect(try client.receive().isEmpty)
        #expect(!client.isActive)
    }

    @Test("QoS 2: PUBREC waits for the work; a resent PUBLISH is not intercepted twice")
    func deferredQoS2() throws {
        let interceptor = ManualInterceptor(.deferred)
        let broker = BrokerHarness(interceptor: interceptor)
        let (client, _) = try broker.connect("dev")
        try client.publish("t", "x", qos: .exactlyOnce, packetID: 9)
        #expect(try client.receive().isEmpty)
        interceptor.complete(0, with: .success)
        broker.loop.run()
        #expect(try client.receive() == [.pubrec(PublishAck(packetID: 9))])
        try client.publish("t", "x", qos: .exactlyOnce, packetID: 9)
        #expect(try client.receive() == [.pubrec(PublishAck(packetID: 9))])
        #expect(interceptor.seen.withLock { $0.count } == 1)
    }

    @Test("a rejected publish is not routed; v5 learns why, 3.1.1 gets a plain PUBACK")
    func rejected() throws {
        let interceptor = ManualInterceptor(.reject(.payloadFormatInvalid))
        let broker = BrokerHarness(interceptor: interceptor)
        let (subscriber, _) = try broker.connect("s")
        _ = try subscriber.subscribe("t")
        let (v5, _) = try broker.connect("a")
        try v5.publish("t", "bad", qos: .atLeastOnce, packetID: 3)
        #expect(try v5.receive() == [.puback(PublishAck(packetID: 3, reasonCode: .payloadFormatInvalid))])
        let (v311, _) = try broker.connect("b", version: .v311)
        try v311.publish("t", "bad", qos: .atLeastOnce, packetID: 4)
        #expect(try v311.receive() == [.puback(PublishAck(packetID: 4))])
        #expect(try subscriber.receivePublishes().isEmpty)
    }

    @Test("an accepted publish is routed and acknowledged at once")
    func accepted() throws {
        let broker = BrokerHarness(interceptor: ManualInterceptor(.accept))
        let (subscriber, _) = try broker.connect("s")
        _ = try subscriber.subscribe("t")
        let (client, _) = try broker.connect("a")
        try client.publish("t", "ok", qos: .atLeastOnce, packetID: 1)
        #expect(try client.receive() == [.puback(PublishAck(packetID: 1))])
        #expect(try subscriber.receivePublishes().map(\.text) == ["ok"])
    }
}

/// An interceptor that also records connection events.
final class RecordingObserver: PublishInterceptor, ClientEventObserver {
    let events = Mutex<[String]>([])
    func intercept(_ publish: InterceptedPublish, eventLoop: any EventLoop) -> PublishDisposition { .accept }
    func clientConnected(clientID: String, identity: ClientIdentity) {
        events.withLock { $0.append("connected \(clientID)") }
    }
    func clientDisconnected(clientID: String, identity: ClientIdentity, graceful: Bool) {
        events.withLock { $0.append("\(graceful ? "disconnected" : "lost") \(clientID)") }
    }
}

@Suite("Broker: client events")
struct ClientEventTests {
    @Test("an interceptor that observes clients hears connects, normal disconnects and lost connections")
    func events() throws {
        let observer = RecordingObserver()
        let broker = BrokerHarness(interceptor: observer)
        let (a, _) = try broker.connect("a")
        let (b, _) = try broker.connect("b")
        try a.send(.disconnect(Disconnect()))
        b.drop()
        #expect(observer.events.withLock { $0 } == ["connected a", "connected b", "disconnected a", "lost b"])
    }
}
