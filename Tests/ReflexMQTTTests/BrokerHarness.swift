import Logging
import NIOCore
import NIOEmbedded

@testable import ReflexMQTT

/// A broker core on an `EmbeddedEventLoop` with clients on `EmbeddedChannel`s: deterministic,
/// no sockets, time moves only with ``advance(by:)``.
final class BrokerHarness {
    let loop = EmbeddedEventLoop()
    let core: BrokerCore
    let metrics = BrokerMetrics()
    let authenticator: any Authenticator

    init(
        authenticator: any Authenticator = AllowAllAuthenticator(),
        authorizer: any TopicAuthorizer = AllowAllAuthenticator(),
        interceptor: (any PublishInterceptor)? = nil,
        configure: (inout BrokerConfiguration) -> Void = { _ in }
    ) {
        var configuration = BrokerConfiguration()
        configure(&configuration)
        self.authenticator = authenticator
        core = BrokerCore(
            eventLoop: loop,
            configuration: configuration,
            authorizer: authorizer,
            interceptor: interceptor,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        core.startHousekeeping()
    }

    /// Opens a connection (no CONNECT sent yet).
    func open(version: ProtocolVersion = .v5) throws -> TestClient {
        let handler = MQTTConnectionHandler(
            core: core,
            authenticator: authenticator,
            metrics: metrics,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let channel = EmbeddedChannel(handler: handler, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40_000)).wait()
        return TestClient(channel: channel, loop: loop, version: version)
    }

    /// Opens a connection, sends CONNECT and returns the client with its CONNACK.
    func connect(
        _ clientID: String,
        version: ProtocolVersion = .v5,
        cleanStart: Bool = true,
        keepAlive: UInt16 = 0,
        will: Will? = nil,
        properties: Properties = Properties(),
        username: String? = nil
    ) throws -> (TestClient, ConnAck) {
        let client = try open(version: version)
        try client.send(
            .connect(
                Connect(
                    version: version,
                    cleanStart: cleanStart,
                    keepAliveSeconds: keepAlive,
                    clientID: clientID,
                    will: will,
                    username: username,
                    properties: properties
                )
            )
        )
        let packets = try client.receive()
        guard case .connack(let connAck)? = packets.first else {
            throw HarnessError.unexpected("expected CONNACK, got \(packets)")
        }
        client.pending.append(contentsOf: packets.dropFirst())
        return (client, connAck)
    }

    func advance(by amount: TimeAmount) {
        loop.advanceTime(by: amount)
        loop.run()
    }
}

enum HarnessError: Error { case unexpected(String) }

/// The client side of one embedded connection.
final class TestClient {
    let channel: EmbeddedChannel
    let loop: EmbeddedEventLoop
    let version: ProtocolVersion
    var decoder: PacketDecoder
    var inbound: ByteBuffer?
    var pending: [Packet] = []

    init(channel: EmbeddedChannel, loop: EmbeddedEventLoop, version: ProtocolVersion) {
        self.channel = channel
        self.loop = loop
        self.version = version
        decoder = PacketDecoder(maximumPacketSize: 1 << 28, version: version)
    }

    func send(_ packet: Packet) throws {
        var buffer = channel.allocator.buffer(capacity: 64)
        PacketEncoder.encode(packet, version: version, into: &buffer)
        try sendRaw(buffer)
    }

    func sendRaw(_ buffer: ByteBuffer) throws {
        guard channel.isActive else { return }
        try channel.writeInbound(buffer)
        loop.run()
    }

    func sendRaw(_ bytes: [UInt8]) throws {
        try sendRaw(channel.allocator.buffer(bytes: bytes))
    }

    /// Every packet the broker has written to this client so far (and not yet returned).
    func receive() throws -> [Packet] {
        loop.run()
        while let chunk = try channel.readOutbound(as: ByteBuffer.self) {
            var chunk = chunk
            if var existing = inbound {
                existing.writeBuffer(&chunk)
                inbound = existing
            } else {
                inbound = chunk
            }
        }
        var packets = pending
        pending = []
        while var buffer = inbound {
            inbound = nil
            guard let packet = try decoder.decode(buffer: &buffer) else {
                inbound = buffer
                break
            }
            if buffer.readableBytes > 0 { inbound = buffer }
            packets.append(packet)
        }
        return packets
    }

    /// The PUBLISH packets among what was received.
    func receivePublishes() throws -> [Publish] {
        try receive().compactMap { if case .publish(let p) = $0 { p } else { nil } }
    }

    var isActive: Bool { channel.isActive }

    /// Closes the socket without DISCONNECT (an abnormal close: the will is published).
    func drop() {
        _ = try? channel.close().wait()
        loop.run()
    }

    func subscribe(
        _ filter: String,
        qos: QoS = .atLeastOnce,
        packetID: UInt16 = 1,
        properties: Properties = Properties(),
        options: (inout SubscriptionRequest) -> Void = { _ in }
    ) throws -> SubAck {
        var request = SubscriptionRequest(filter: filter, qos: qos)
        options(&request)
        try send(.subscribe(Subscribe(packetID: packetID, subscriptions: [request], properties: properties)))
        var subAck: SubAck?
        for packet in try receive() {
            if case .suback(let ack) = packet, subAck == nil {
                subAck = ack
            } else {
                pending.append(packet)
            }
        }
        guard let subAck else { throw HarnessError.unexpected("no SUBACK") }
        return subAck
    }

    func publish(
        _ topic: String,
        _ text: String,
        qos: QoS = .atMostOnce,
        retain: Bool = false,
        packetID: UInt16? = nil,
        properties: Properties = Properties()
    ) throws {
        let id = qos == .atMostOnce ? nil : (packetID ?? 1)
        try send(
            .publish(
                Publish(
                    topic: topic,
                    payload: ByteBuffer(string: text),
                    qos: qos,
                    retain: retain,
                    packetID: id,
                    properties: properties
                )
            )
        )
    }
}

extension Publish {
    var text: String { String(buffer: payload) }
}
