import NIOCore
import NIOEmbedded
import ReflexAutomation
import ReflexCore
import ReflexMQTT
import ReflexNode
import ReflexServer
import Synchronization
import Testing

/// Counts what reaches the wrapped interceptor.
final class CountingInterceptor: PublishInterceptor {
    let topics = Mutex<[String]>([])

    func intercept(_ publish: InterceptedPublish, eventLoop: any EventLoop) -> PublishDisposition {
        topics.withLock { $0.append(publish.topic) }
        return .accept
    }
}

@Suite("Command ack interceptor")
struct AutomationAckInterceptorTests {
    func publish(_ topic: String, _ payload: String) -> InterceptedPublish {
        InterceptedPublish(
            clientID: "pump-1",
            identity: ClientIdentity(principal: "pump-1"),
            topic: topic,
            payload: ByteBuffer(string: payload),
            qos: .atLeastOnce,
            retain: false,
            contentType: nil
        )
    }

    @Test("acks go to the automation stream; other topics and malformed acks are handled as before")
    func routing() async throws {
        let base = CountingInterceptor()
        let (acks, input) = AsyncStream.makeStream(of: ReceivedCommandAck.self)
        let interceptor = CommandAckInterceptor(base: base, continuation: input)
        let loop = EmbeddedEventLoop()
        let ack = publish("devices/pump-1/commands/stop/ack", "{\"id\":\"c3\",\"status\":\"done\",\"detail\":\"ok\"}")
        guard case .accept = interceptor.intercept(ack, eventLoop: loop) else {
            Issue.record("an ack is accepted")
            return
        }
        _ = interceptor.intercept(publish("devices/pump-1/commands/stop/ack", "not json"), eventLoop: loop)
        _ = interceptor.intercept(publish("devices/pump-1/telemetry", "{}"), eventLoop: loop)
        input.finish()
        var received: [ReceivedCommandAck] = []
        for await item in acks { received.append(item) }
        #expect(received.map(\.ack) == [CommandAck(id: "c3", status: .done, detail: "ok")])
        #expect(received.map(\.name) == ["stop"])
        #expect(received.map(\.device.rawValue) == ["pump-1"])
        #expect(base.topics.withLock { $0 } == ["devices/pump-1/telemetry"])
        #expect(interceptor.statistics.received == 1)
        #expect(interceptor.statistics.malformed == 1)
    }
}
