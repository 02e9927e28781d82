import Foundation
public import NIOCore
public import ReflexAutomation
public import ReflexCore
public import ReflexMQTT
import Synchronization

/// A device's ack as received from the broker.
public struct ReceivedCommandAck: Sendable {
    public var device: DeviceID
    public var name: String
    public var ack: CommandAck
}

/// Sits in front of the node's ``PublishInterceptor`` (the ``TelemetryIngestor``): publishes on
/// `devices/{id}/commands/{name}/ack` are decoded and handed to the automation service through a
/// bounded stream; everything else goes to the wrapped interceptor unchanged. Acks are routed to
/// subscribers as any message (an operator may watch them).
public final class CommandAckInterceptor: PublishInterceptor, ClientEventObserver {
    let base: any PublishInterceptor
    let continuation: AsyncStream<ReceivedCommandAck>.Continuation
    private let counters = Mutex((received: 0, malformed: 0, dropped: 0))

    /// - Parameters:
    ///   - base: the interceptor for every other topic.
    ///   - continuation: where acks go (the automation service's stream).
    public init(base: any PublishInterceptor, continuation: AsyncStream<ReceivedCommandAck>.Continuation) {
        self.base = base
        self.continuation = continuation
    }

    /// Acks received, malformed (not `{"id","status"}` JSON) and dropped (stream full).
    public var statistics: (received: Int, malformed: Int, dropped: Int) { counters.withLock { $0 } }

    public func intercept(_ publish: InterceptedPublish, eventLoop: any EventLoop) -> PublishDisposition {
        guard case .commandAck(let device, let name)? = DeviceTopic(publish.topic) else {
            return base.intercept(publish, eventLoop: eventLoop)
        }
        let bytes =
            publish.payload.getBytes(at: publish.payload.readerIndex, length: publish.payload.readableBytes) ?? []
        guard let ack = try? JSONDecoder().decode(CommandAck.self, from: Data(bytes)) else {
            counters.withLock { $0.malformed += 1 }
            return .accept
        }
        let result = continuation.yield(ReceivedCommandAck(device: device, name: name, ack: ack))
        counters.withLock {
            $0.received += 1
            if case .dropped = result { $0.dropped += 1 }
        }
        return .accept
    }

    public func clientConnected(clientID: String, identity: ClientIdentity) {
        (base as? any ClientEventObserver)?.clientConnected(clientID: clientID, identity: identity)
    }

    public func clientDisconnected(clientID: String, identity: ClientIdentity, graceful: Bool) {
        (base as? any ClientEventObserver)?.clientDisconnected(
            clientID: clientID,
            identity: identity,
            graceful: graceful
        )
    }
}

/// Publishes command messages to devices: the embedded broker in a node, a fake in tests.
public protocol CommandPublisher: Sendable {
    /// Publishes and returns how many subscriptions received it.
    func publish(topic: String, payload: [UInt8], qos: QoS, retain: Bool) async throws -> Int
}

extension MQTTBroker: CommandPublisher {}
