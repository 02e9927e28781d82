import DequeModule
import Logging
import Metrics
import NIOCore
import OrderedCollections

extension SocketAddress {
    /// "127.0.0.1:1883" or "[::1]:1883", for logs.
    var hostAndPort: String {
        guard let ip = ipAddress else { return "\(self)" }
        let port = self.port.map(String.init) ?? "?"
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// One client connection: reads bytes, decodes packets, drives the client's session in the
/// ``BrokerCore`` and writes the answers. Packet handling lives in
/// `MQTTConnectionHandler+Packets.swift`.
///
/// Runs on the broker's single event loop (as does the core), which makes the
/// `@unchecked Sendable` conformance safe: no state is touched from another thread.
final class MQTTConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case awaitingConnect
        case authenticating
        case connected
        case closing
    }

    let core: BrokerCore
    let authenticator: any Authenticator
    let authenticatorAllowsAll: Bool
    let metrics: BrokerMetrics
    var logger: Logger
    var context: ChannelHandlerContext?
    var state = State.awaitingConnect
    var decoder: PacketDecoder
    private var inbound: ByteBuffer?

    var version = ProtocolVersion.v311
    var clientID = ""
    var identity = ClientIdentity.anonymous
    var session: Session?
    var remoteAddress = "unknown"

    /// Whether this connection has writes waiting for the end-of-tick flush (see ``BrokerCore``).
    var needsFlush = false
    /// Mirrors `channel.isWritable`; when false, deliveries wait in the session queue.
    private(set) var isWritable = true
    /// How many QoS 1/2 messages may be in flight toward this client.
    var sendQuota = 64
    var clientMaximumPacketSize = Int.max
    var clientTopicAliasMaximum: UInt16 = 0
    var outgoingAliases: [String: UInt16] = [:]
    var incomingAliases: [UInt16: String] = [:]
    var will: ApplicationMessage?
    var willDelaySeconds: UInt32 = 0
    var keepAlive: TimeAmount?
    var lastActivity = NIODeadline.uptimeNanoseconds(0)
    /// Acknowledgements waiting for deferred work, in PUBLISH order (see `+Acknowledgements`).
    var pendingAcks: Deque<PendingAck> = []
    /// The sequence number of `pendingAcks.first`.
    var pendingAckBase = 0
    /// Set when the client sent DISCONNECT with reason 0x00.
    var disconnectedNormally = false
    /// When the connection was accepted, for the CONNECT timeout.
    var openedAt = NIODeadline.uptimeNanoseconds(0)

    init(core: BrokerCore, authenticator: any Authenticator, metrics: BrokerMetrics, logger: Logger) {
        self.core = core
        self.authenticator = authenticator
        self.authenticatorAllowsAll = authenticator is AllowAllAuthenticator
        self.metrics = metrics
        self.logger = logger
        self.decoder = PacketDecoder(maximumPacketSize: core.configuration.maxPacketSize)
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let address = context.channel.remoteAddress {
            remoteAddress = address.hostAndPort
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        openedAt = core.eventLoop.now
        core.register(self)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.unregister(self)
        let wasConnected = state == .connected || (state == .closing && session != nil)
        state = .closing
        if let session {
            self.session = nil
            if wasConnected {
                core.connectedClients -= 1
                core.clientEvents?.clientDisconnected(
                    clientID: clientID,
                    identity: identity,
                    graceful: disconnectedNormally
                )
            }
            if session.connection === self {
                core.sessionWentOffline(session, will: will, willDelaySeconds: willDelaySeconds)
            }
            log.debug("Client disconnected")
        }
        will = nil
        inbound = nil
        core.flushAll()
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        core.statistics.bytesReceived += bytes.readableBytes
        lastActivity = core.eventLoop.now
        if var pending = inbound {
            inbound = nil  // unique reference, so appending does not copy
            pending.writeBuffer(&bytes)
            inbound = pending
        } else {
            inbound = bytes
        }
        processInbound()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        core.flushAll()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        if isWritable, let session {
            core.drain(session)
            core.flushAll()
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        log.debug("Connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// The logger with this connection's client id and address, built only when something is
    /// logged: a per-connection copy would cost memory on every idle connection.
    var log: Logger {
        var logger = self.logger
        logger[metadataKey: "mqtt.client_id"] = "\(clientID)"
        logger[metadataKey: "mqtt.remote"] = "\(remoteAddress)"
        return logger
    }

    /// Called once a second by the core: closes a connection that sent no CONNECT within 10 s,
    /// or whose keep-alive (× 1.5) passed in silence.
    func checkTimeouts(now: NIODeadline) {
        switch state {
        case .awaitingConnect, .authenticating:
            if now - openedAt >= .seconds(10) {
                log.notice("Closing connection: no CONNECT within 10 s")
                closeNow()
            }
        case .connected:
            if let keepAlive, now - lastActivity >= keepAlive {
                core.statistics.keepAliveTimeouts += 1
                metrics.keepAliveTimeouts.increment()
                log.notice("Closing connection: keep-alive expired")
                closeWithReason(.keepAliveTimeout, reasonString: "no packet within 1.5 x keep-alive")
            }
        case .closing:
            break
        }
    }

    // MARK: - Decoding

    /// Decodes and handles every complete packet in the inbound buffer, pausing while a CONNECT
    /// is being authenticated (the remaining bytes wait in the buffer).
    func processInbound() {
        while state == .awaitingConnect || state == .connected, var buffer = inbound {
            inbound = nil  // keep the buffer uniquely referenced while decoding
            let packet: Packet?
            do {
                packet = try decoder.decode(buffer: &buffer)
            } catch {
                reject(error)
                return
            }
            if buffer.readableBytes > 0 {
                if buffer.readerIndex > 65_536 { buffer.discardReadBytes() }
                inbound = buffer
            }
            guard let packet else { return }
            core.statistics.messagesReceived += 1
            metrics.countReceived(packet)
            handle(packet)
        }
    }

    /// Closes the connection after a decoding failure, with the matching reason code.
    func reject(_ error: PacketDecodingError) {
        if case .protocolViolation = error {
            core.statistics.protocolErrors += 1
        } else {
            core.statistics.malformedPackets += 1
        }
        metrics.countRejected(error.metricLabel)
        log.notice(
            "Closing connection: invalid packet",
            metadata: ["mqtt.client_id": "\(clientID)", "mqtt.reason": "\(error.reasonCode)", "error": "\(error)"]
        )
        switch state {
        case .awaitingConnect, .authenticating:
            if case .unsupportedProtocolVersion(let level) = error {
                // Answer in the format the client can read: 3.1.1 layout below level 5.
                sendConnAck(
                    ConnAck(sessionPresent: false, reasonCode: .unsupportedProtocolVersion),
                    version: level < 5 ? .v311 : .v5
                )
            } else if decoder.version == .v5 {
                sendConnAck(
                    ConnAck(
                        sessionPresent: false,
                        reasonCode: error.reasonCode,
                        properties: reasonProperties("\(error)")
                    ),
                    version: .v5
                )
            }
            closeNow()
        case .connected:
            closeWithReason(error.reasonCode, reasonString: "\(error)")
        case .closing:
            break
        }
    }

    // MARK: - Writing

    /// Encodes and writes one packet; it is flushed at the end of the loop tick.
    func send(_ packet: Packet) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 16)
        PacketEncoder.encode(packet, version: version, into: &buffer)
        metrics.countSent(packet)
        write(buffer, context: context)
    }

    func sendConnAck(_ connAck: ConnAck, version: ProtocolVersion) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 32)
        PacketEncoder.encode(.connack(connAck), version: version, into: &buffer)
        metrics.countSent(.connack(connAck))
        write(buffer, context: context)
    }

    @inline(__always)
    private func write(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        core.statistics.bytesSent += buffer.readableBytes
        core.statistics.messagesSent += 1
        context.write(wrapOutboundOut(buffer), promise: nil)
        core.markNeedsFlush(self)
    }

    func flush() {
        context?.flush()
    }

    /// Sends one application message. Applies the v5 message expiry countdown, outgoing topic
    /// aliases and the client's maximum packet size (an oversize message is skipped and, for
    /// QoS 1/2, treated as delivered, as MQTT 5.0 §3.1.2.11.4 requires).
    func sendPublish(_ delivery: Delivery, packetID: UInt16?, dup: Bool) {
        guard let context else { return }
        let message = delivery.message
        var publish = Publish(
            topic: message.topic,
            payload: message.payload,
            qos: delivery.qos,
            retain: delivery.retain,
            dup: dup,
            packetID: packetID
        )
        if version == .v5 {
            var properties = message.properties
            if let expiresAt = message.expiresAt {
                let remaining = (expiresAt - core.eventLoop.now).nanoseconds / 1_000_000_000
                properties.messageExpiryInterval = UInt32(clamping: max(remaining, 1))
            }
            properties.subscriptionIdentifiers = delivery.subscriptionIdentifiers
            if clientTopicAliasMaximum > 0 {
                if let alias = outgoingAliases[message.topic] {
                    properties.topicAlias = alias
                    publish.topic = ""
                } else if outgoingAliases.count < Int(clientTopicAliasMaximum) {
                    let alias = UInt16(outgoingAliases.count + 1)
                    outgoingAliases[message.topic] = alias
                    properties.topicAlias = alias
                }
            }
            publish.properties = properties
        }
        let packet = Packet.publish(publish)
        // The size is computed only when it can matter: the client set a maximum, or the
        // message is near MQTT's framing limit (a 3.1.1 message re-encoded for 5.0 grows).
        if clientMaximumPacketSize != Int.max || message.payload.readableBytes > 200_000_000,
            PacketEncoder.encodedSize(packet, version: version)
                > min(clientMaximumPacketSize, PacketEncoder.maximumPacketSize)
        {
            core.statistics.oversizeDropped += 1
            if let packetID, let session, let entry = session.inflight.removeValue(forKey: packetID) {
                core.recordRemoved(entry.delivery, from: session)
            }
            return
        }
        var buffer = context.channel.allocator.buffer(
            capacity: message.topic.utf8.count + message.payload.readableBytes + 16
        )
        PacketEncoder.encode(packet, version: version, into: &buffer)
        core.statistics.publishSent += 1
        metrics.countSent(packet)
        write(buffer, context: context)
    }

    // MARK: - Closing

    /// Server-initiated close: v5 clients get a DISCONNECT with the reason first. The will is
    /// published (this is not a normal disconnect).
    func closeWithReason(_ reason: ReasonCode, reasonString: String? = nil) {
        guard state != .closing else { return }
        if state == .connected && version == .v5 {
            send(.disconnect(Disconnect(reasonCode: reason, properties: reasonProperties(reasonString))))
        }
        closeNow()
    }

    func closeNow() {
        state = .closing
        guard let context else { return }
        context.flush()
        context.close(promise: nil)
    }

    func reasonProperties(_ text: String?) -> Properties {
        var properties = Properties()
        properties.reasonString = text
        return properties
    }
}
