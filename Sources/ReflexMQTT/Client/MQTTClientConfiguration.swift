import NIOCore

/// How an ``MQTTClient`` connects: where to, as whom, and how it keeps the connection alive.
///
/// Defaults: MQTT 5.0, clean start, keep-alive 30 s, 16 QoS 1 publishes in flight, CONNACK within
/// 10 s, reconnect after 100 ms doubling up to 5 s, a 1,024-message receive buffer.
public struct MQTTClientConfiguration: Sendable {
    /// The broker's host name or IP address.
    public var host: String
    /// The broker's TCP port.
    public var port: Int
    /// The client identifier sent in CONNECT.
    public var clientID: String
    /// MQTT 3.1.1 or 5.0.
    public var version: ProtocolVersion = .v5
    /// The user name (a device id for Reflex), or nil.
    public var username: String?
    /// The password (a device token for Reflex), or nil. Never logged.
    public var password: String?
    /// MQTT 3.1.1 clean session / MQTT 5.0 clean start.
    public var cleanStart: Bool = true
    /// The keep-alive interval announced in CONNECT; a PINGREQ goes out when nothing else was sent
    /// for this long. Zero disables keep-alive. Whole seconds on the wire.
    public var keepAlive: Duration = .seconds(30)
    /// The will message the broker publishes if the connection drops without DISCONNECT.
    public var will: Will?
    /// The most QoS 1 publishes awaiting PUBACK at once; further publishes wait for a slot. An
    /// MQTT 5.0 broker's Receive Maximum lowers it further.
    public var maximumInflight: Int = 16
    /// How long to wait for the TCP connection and then the CONNACK.
    public var connectTimeout: Duration = .seconds(10)
    /// The first delay before reconnecting after a lost connection.
    public var reconnectInitialDelay: Duration = .milliseconds(100)
    /// The longest delay between reconnection attempts (the delay doubles up to this).
    public var reconnectMaximumDelay: Duration = .seconds(5)
    /// Whether to reconnect at all after the connection drops (or the first attempt fails).
    public var reconnects: Bool = true
    /// Whether ``MQTTClient/disconnect()`` asks an MQTT 5.0 broker to publish the will anyway
    /// (DISCONNECT reason 0x04), so that an `offline` status will also announces a deliberate
    /// stop. MQTT 3.1.1 has no such reason: the will is discarded.
    public var disconnectPublishesWill: Bool = false
    /// The largest packet accepted from the broker, in bytes.
    public var maximumPacketSize: Int = 1 << 20
    /// How many received messages wait in ``MQTTClient/messages`` before new ones are dropped
    /// (and counted in ``MQTTClient/droppedMessages``).
    public var receiveBufferSize: Int = 1024

    /// - Parameters:
    ///   - host: the broker's host name or address.
    ///   - port: the broker's port (1883 by convention).
    ///   - clientID: the client identifier.
    public init(host: String, port: Int = 1883, clientID: String) {
        self.host = host
        self.port = port
        self.clientID = clientID
    }

    /// "host:port", for messages.
    public var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The CONNECT packet for this configuration.
    func connectPacket() -> Connect {
        let seconds = keepAlive.components.seconds
        return Connect(
            version: version,
            cleanStart: cleanStart,
            keepAliveSeconds: UInt16(clamping: seconds),
            clientID: clientID,
            will: will,
            username: username,
            password: password.map { ByteBuffer(string: $0) }
        )
    }
}
