public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// An asynchronous MQTT 3.1.1 / 5.0 client on SwiftNIO that reconnects by itself.
///
/// Run it as a `Service` (``run()`` connects, serves the connection, and reconnects with
/// exponential backoff when it drops, restoring its subscriptions); use it from other tasks:
///
/// ```swift
/// let client = MQTTClient(configuration: configuration, logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await client.run() }
///     try await client.waitUntilConnected()
///     _ = try await client.subscribe(to: [SubscriptionRequest(filter: "devices/+/commands/#", qos: .atLeastOnce)])
///     try await client.publish(to: "devices/pump-1/telemetry", payload: payload, qos: .atLeastOnce)
///     for await message in client.messages { ... }
/// }
/// ```
///
/// - QoS 0 publishes are written and forgotten; QoS 1 publishes return once the PUBACK arrived and
///   throw if the broker refused them or the connection dropped first. At most
///   ``MQTTClientConfiguration/maximumInflight`` wait at once; more callers wait for a slot.
///   QoS 2 publishing is not supported.
/// - Received messages (QoS 0, 1 and 2) arrive on ``messages``; QoS 1 is acknowledged as soon
///   as the message is buffered. When the buffer is full, new messages are dropped and counted.
/// - Publishing while disconnected throws ``MQTTClientError/Code/notConnected``: nothing is
///   queued across reconnects.
/// - A CONNACK refusal that retrying cannot fix (bad credentials, not authorized) ends ``run()``
///   with ``MQTTClientError/Code/connectionRefused``; other failures are retried.
public final class MQTTClient: Service, Sendable {
    /// How the client connects.
    public let configuration: MQTTClientConfiguration
    /// Messages received on the client's subscriptions, in arrival order; finishes when ``run()``
    /// returns. One consumer.
    public let messages: AsyncStream<Publish>
    private let messagesContinuation: AsyncStream<Publish>.Continuation
    private let state: Mutex<MQTTClientStateMachine>
    private let stopRequested = Atomic<Bool>(false)
    private let pingOutstanding = Atomic<Bool>(false)
    private let droppedCount = Atomic<Int>(0)
    private let connectionCount = Atomic<Int>(0)
    private let pingResponseCount = Atomic<Int>(0)
    private let eventLoopGroup: any EventLoopGroup
    private let clock: any Clock<Duration>
    private let logger: Logger

    /// - Parameters:
    ///   - configuration: broker, identity and limits.
    ///   - eventLoopGroup: where the connection lives (default: NIO's shared singleton).
    ///   - clock: for keep-alive, timeouts and reconnect delays.
    ///   - logger: lifecycle at info/notice, packets at trace. Passwords are never logged.
    public init(
        configuration: MQTTClientConfiguration,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.clock = clock
        var logger = logger
        logger[metadataKey: "mqtt.client.id"] = "\(configuration.clientID)"
        self.logger = logger
        state = Mutex(MQTTClientStateMachine(maximumInflight: configuration.maximumInflight))
        (messages, messagesContinuation) = AsyncStream.makeStream(
            of: Publish.self,
            bufferingPolicy: .bufferingOldest(max(1, configuration.receiveBufferSize))
        )
    }

    /// Received messages dropped because ``messages`` was full.
    public var droppedMessages: Int { droppedCount.load(ordering: .relaxed) }

    /// How many times a CONNACK was accepted (1 after the first connection, 2 after a reconnect...).
    public var connections: Int { connectionCount.load(ordering: .relaxed) }

    /// How many PINGRESPs arrived, over all connections: one per answered keep-alive round.
    public var pingResponses: Int { pingResponseCount.load(ordering: .relaxed) }

    /// Whether a connection is up and its CONNACK accepted.
    public var isConnected: Bool { state.withLock { $0.connectedChannel != nil } }

    // MARK: - Service

    /// Connects and stays connected until cancelled, gracefully shut down or ``disconnect()``.
    /// - Throws: ``MQTTClientError`` with code `connectionRefused` when the broker refuses the
    ///   credentials; with ``MQTTClientConfiguration/reconnects`` off, the first failure.
    public func run() async throws {
        do {
            try await withGracefulShutdownHandler {
                try await self.connectLoop()
            } onGracefulShutdown: {
                self.requestStop()
            }
            finish(error: MQTTClientError(code: .shutdown, message: "MQTT client '\(configuration.clientID)' stopped"))
        } catch {
            finish(
                error: error as? MQTTClientError
                    ?? MQTTClientError(
                        code: .shutdown,
                        message: "MQTT client '\(configuration.clientID)' stopped",
                        cause: error
                    )
            )
            throw error
        }
    }

    private func connectLoop() async throws {
        var delay = configuration.reconnectInitialDelay
        while !stopRequested.load(ordering: .relaxed) && !Task.isCancelled {
            do {
                if try await connectOnce() { delay = configuration.reconnectInitialDelay }
            } catch let error as MQTTClientError where error.isPermanent {
                logger.error("MQTT connection refused", metadata: ["error": "\(error)"])
                throw error
            } catch {
                if stopRequested.load(ordering: .relaxed) || Task.isCancelled { return }
                guard configuration.reconnects else { throw error }
                logger.notice(
                    "MQTT connection failed; reconnecting",
                    metadata: ["error": "\(error)", "mqtt.reconnect.delay": "\(delay)"]
                )
            }
            guard configuration.reconnects, !stopRequested.load(ordering: .relaxed) else { return }
            let wait = delay
            do {
                try await cancelWhenGracefulShutdown { try await self.clock.sleep(for: wait) }
            } catch {
                return  // cancelled or shutting down
            }
            delay = min(delay * 2, configuration.reconnectMaximumDelay)
        }
    }

    /// One connection from TCP connect to close.
    /// - Returns: whether CONNACK was accepted (so the backoff starts over).
    private func connectOnce() async throws -> Bool {
        let endpoint = configuration.endpoint
        let version = configuration.version
        let maximumPacketSize = configuration.maximumPacketSize
        let asyncChannel: NIOAsyncChannel<Packet, Packet>
        do {
            asyncChannel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(
                                MQTTPacketFrameDecoder(version: version, maximumPacketSize: maximumPacketSize)
                            )
                        )
                        try channel.pipeline.syncOperations.addHandler(
                            MessageToByteHandler(MQTTPacketFrameEncoder(version: version))
                        )
                        return try NIOAsyncChannel<Packet, Packet>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MQTTClientError(
                code: .connectionFailed,
                message: "cannot connect to MQTT broker \(endpoint) as client '\(configuration.clientID)'",
                cause: error
            )
        }
        let channel = asyncChannel.channel
        // A stop requested while the TCP connection was being made found no channel to close:
        // close it here, or the connection would live on and `run()` never return.
        guard state.withLock({ $0.connecting(channel) }), !stopRequested.load(ordering: .relaxed) else {
            try? await channel.close()
            return false
        }
        pingOutstanding.store(false, ordering: .relaxed)
        var wasConnected = false
        do {
            wasConnected = try await asyncChannel.executeThenClose { inbound, _ in
                channel.writeAndFlush(Packet.connect(self.configuration.connectPacket()), promise: nil)
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await self.watch(channel) }
                    let connected = try await self.readLoop(inbound, channel: channel)
                    group.cancelAll()
                    return connected
                }
            }
        } catch {
            let lost = Self.wrap(error, code: .connectionLost, "connection to MQTT broker \(endpoint) failed")
            state.withLock { $0.disconnected(error: lost, stopping: false) }.resume()
            throw error
        }
        let lost = MQTTClientError(code: .connectionLost, message: "connection to MQTT broker \(endpoint) closed")
        state.withLock { $0.disconnected(error: lost, stopping: false) }.resume()
        if !wasConnected && !stopRequested.load(ordering: .relaxed) {
            throw MQTTClientError(
                code: .timeout,
                message: "MQTT broker \(endpoint) closed the connection or sent no CONNACK within "
                    + "\(configuration.connectTimeout)"
            )
        }
        if wasConnected { logger.notice("MQTT connection closed", metadata: ["mqtt.broker": "\(endpoint)"]) }
        return wasConnected
    }

    /// Closes the connection when CONNACK does not come in time, then sends PINGREQ every
    /// keep-alive interval and closes when the previous one got no answer.
    private func watch(_ channel: any Channel) async {
        do {
            try await clock.sleep(for: configuration.connectTimeout)
            if state.withLock({ $0.connectedChannel == nil }) {
                logger.notice("No CONNACK in time; closing", metadata: ["mqtt.broker": "\(configuration.endpoint)"])
                channel.close(promise: nil)
                return
            }
            let interval = configuration.keepAlive
            guard interval > .zero else { return }
            while true {
                try await clock.sleep(for: interval)
                if pingOutstanding.exchange(true, ordering: .relaxed) {
                    logger.notice(
                        "No answer to PINGREQ; closing",
                        metadata: ["mqtt.broker": "\(configuration.endpoint)"]
                    )
                    channel.close(promise: nil)
                    return
                }
                channel.writeAndFlush(Packet.pingreq, promise: nil)
            }
        } catch {
            return  // cancelled: the connection ended
        }
    }

    private func readLoop(_ inbound: NIOAsyncChannelInboundStream<Packet>, channel: any Channel) async throws -> Bool {
        var connected = false
        for try await packet in inbound {
            pingOutstanding.store(false, ordering: .relaxed)
            logger.trace("MQTT packet received", metadata: ["mqtt.packet": "\(packet.name)"])
            switch packet {
            case .connack(let ack):
                guard !connected else { throw violation("a second CONNACK") }
                guard !ack.reasonCode.isFailure else {
                    throw MQTTClientError(
                        code: .connectionRefused,
                        message: "MQTT broker \(configuration.endpoint) refused client '\(configuration.clientID)'"
                            + " (user \(configuration.username.map { "'\($0)'" } ?? "none")): "
                            + "\(ack.reasonCode.clientDescription) (CONNACK \(ack.reasonCode))",
                        reasonCode: ack.reasonCode
                    )
                }
                connected = true
                connectionCount.add(1, ordering: .relaxed)
                let (subscribe, resumptions) = state.withLock {
                    $0.connected(receiveMaximum: ack.properties.receiveMaximum)
                }
                logger.info(
                    "MQTT client connected",
                    metadata: ["mqtt.broker": "\(configuration.endpoint)", "mqtt.version": "\(configuration.version)"]
                )
                if let subscribe { channel.writeAndFlush(Packet.subscribe(subscribe), promise: nil) }
                resumptions.resume()
            case .publish(let publish):
                guard connected else { throw violation("PUBLISH before CONNACK") }
                deliver(publish, channel: channel)
            case .puback(let ack):
                state.withLock { $0.publishAcknowledged(ack, endpoint: configuration.endpoint) }.resume()
            case .pubrel(let ack):
                channel.writeAndFlush(Packet.pubcomp(PublishAck(packetID: ack.packetID)), promise: nil)
            case .suback(let ack):
                state.withLock { $0.subscribeAcknowledged(ack) }.resume()
            case .unsuback(let ack):
                state.withLock { $0.unsubscribeAcknowledged(ack) }.resume()
            case .pingresp:
                pingResponseCount.add(1, ordering: .relaxed)
            case .pubrec, .pubcomp, .auth:
                break
            case .disconnect(let disconnect):
                logger.notice(
                    "MQTT broker sent DISCONNECT",
                    metadata: ["mqtt.reason": "\(disconnect.reasonCode.clientDescription)"]
                )
                channel.close(promise: nil)
                return connected
            case .connect, .subscribe, .unsubscribe, .pingreq:
                throw violation("\(packet.name.uppercased()) sent to a client")
            }
        }
        return connected
    }

    private func deliver(_ publish: Publish, channel: any Channel) {
        // Copy the payload out of the receive buffer so that a kept message does not pin it.
        var message = publish
        message.payload = ByteBuffer(bytes: publish.payload.readableBytesView)
        if case .dropped = messagesContinuation.yield(message) {
            droppedCount.add(1, ordering: .relaxed)
            logger.warning("MQTT message dropped: receive buffer full", metadata: ["mqtt.topic": "\(publish.topic)"])
        }
        switch publish.qos {
        case .atMostOnce: break
        case .atLeastOnce:
            if let id = publish.packetID {
                channel.writeAndFlush(Packet.puback(PublishAck(packetID: id)), promise: nil)
            }
        case .exactlyOnce:
            if let id = publish.packetID {
                channel.writeAndFlush(Packet.pubrec(PublishAck(packetID: id)), promise: nil)
            }
        }
    }

    private func violation(_ what: String) -> MQTTClientError {
        MQTTClientError(code: .protocolViolation, message: "MQTT broker \(configuration.endpoint) sent \(what)")
    }

    private func finish(error: MQTTClientError) {
        stopRequested.store(true, ordering: .relaxed)
        state.withLock { $0.disconnected(error: error, stopping: true) }.resume()
        messagesContinuation.finish()
    }

    /// Runs `body` on the state machine under its lock.
    func stateLock<T: Sendable>(_ body: (inout MQTTClientStateMachine) -> sending T) -> sending T {
        state.withLock { body(&$0) }
    }

    /// Marks the client as stopping and ends the current connection with DISCONNECT.
    func requestStop() {
        stopRequested.store(true, ordering: .relaxed)
        guard let channel = state.withLock({ $0.channel }) else { return }
        let reason: ReasonCode =
            configuration.disconnectPublishesWill && configuration.version == .v5
            ? .disconnectWithWillMessage : .normalDisconnection
        channel.writeAndFlush(Packet.disconnect(Disconnect(reasonCode: reason))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private static func wrap(_ error: any Error, code: MQTTClientError.Code, _ message: String) -> MQTTClientError {
        error as? MQTTClientError ?? MQTTClientError(code: code, message: message, cause: error)
    }
}
