/// Settings of the embedded MQTT broker. The defaults make `reflex serve` work with no file.
///
/// Keys as read by `ReflexServer` (YAML `mqtt.*`, environment `REFLEX_MQTT_*`):
/// - `listeners.tcp` (`host:port`, default `0.0.0.0:1883`; empty disables)
/// - `listeners.tls` (`host:port`, default none) with `tls.certificate` and `tls.key` (PEM paths)
/// - `maxConnections` (Int, default 100_000)
/// - `maxPacketSize` (bytes, default 1 MiB): the largest packet accepted and announced in CONNACK
/// - `maxInflight` (Int, default 64): unacknowledged QoS 1/2 messages toward one client
///   (also the Receive Maximum announced to v5 clients for their own publishes)
/// - `maxQueuedMessages` (Int, default 100_000): messages queued for one client beyond the inflight
///   window; past it QoS 0 is dropped and counted, QoS 1/2 is never dropped silently (see
///   ``QueueOverflowPolicy``)
/// - `maxTopicLength` (bytes, default 65_535) and `maxTopicLevels` (default 64)
/// - `maxKeepAliveSeconds` (default 65_535), `defaultSessionExpirySeconds`, `maxSessionExpirySeconds`
/// - `topicAliasMaximum` (default 64): aliases a v5 client may use toward the broker
/// - `sysInterval` (seconds, default 10): how often `$SYS/` topics are refreshed; 0 disables
/// - `retained.maxMessagesPerClient` (default 1_000), `retained.maxBytesPerClient` (default
///   16 MiB) and `retained.maxBytes` (node-wide, default 1 GiB): retained-message quotas, see
///   ``maxRetainedMessagesPerClient``
public struct BrokerConfiguration: Sendable, Equatable {
    /// A TCP address to listen on.
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// PEM files for the TLS listener.
    public struct TLSFiles: Sendable, Equatable {
        public var certificatePath: String
        public var keyPath: String
        public init(certificatePath: String, keyPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }
    }

    /// What happens when a client's queue is full and a QoS 1/2 message arrives for it.
    public enum QueueOverflowPolicy: String, Sendable, Equatable, CaseIterable {
        /// Disconnect the slow consumer (v5 reason 0x97 quota exceeded); its session keeps what was
        /// queued, the new message is counted as dropped for that client and logged.
        case disconnectClient = "disconnect"
        /// Drop the new message for that client only, count it and log it (rate-limited).
        case dropNewest = "drop"
    }

    public var tcp: Endpoint? = Endpoint(host: "0.0.0.0", port: 1883)
    public var tls: Endpoint? = nil
    public var tlsFiles: TLSFiles? = nil
    public var maxConnections: Int = 100_000
    public var maxPacketSize: Int = 1_048_576
    public var maxInflight: Int = 64
    public var maxQueuedMessages: Int = 100_000
    public var queueOverflowPolicy: QueueOverflowPolicy = .disconnectClient
    public var maxTopicLength: Int = 65_535
    public var maxTopicLevels: Int = 64
    public var maxKeepAliveSeconds: Int = 65_535
    /// Session expiry used for MQTT 3.1.1 clients with clean session = false (they have no expiry
    /// of their own). Default: 7 days, so abandoned sessions do not accumulate forever.
    public var v311SessionExpirySeconds: UInt32 = 7 * 24 * 3600
    /// Upper bound on a v5 client's requested session expiry. Default: 30 days.
    public var maxSessionExpirySeconds: UInt32 = 30 * 24 * 3600
    public var topicAliasMaximum: UInt16 = 64
    public var sysIntervalSeconds: Int = 10
    /// How often every persistent session is rewritten whole while running (also at shutdown).
    /// QoS 1/2 messages routed to persistent sessions, their SUBSCRIBEs and retained messages do
    /// not wait for it: they are stored before their acknowledgement (see docs/mqtt.md).
    public var sessionSaveIntervalSeconds: Int = 5
    /// Retained messages one identity (the publisher's principal; all anonymous clients share
    /// one) may keep. Past it a retained PUBLISH is refused: MQTT 5 PUBACK/PUBREC 0x97 quota
    /// exceeded, and on QoS 0 and 3.1.1 it is dropped (neither stored nor routed), logged and
    /// counted. Deleting (empty payload) always works. Default 1,000.
    public var maxRetainedMessagesPerClient: Int = 1_000
    /// Bytes (topic + payload) of retained messages one identity may keep; default 16 MiB.
    public var maxRetainedBytesPerClient: Int = 16 * 1_048_576
    /// Bytes of retained messages the whole node keeps, broker-made ones included; default 1 GiB.
    public var maxRetainedBytes: Int = 1_073_741_824

    var retainedLimits: RetainedQuota.Limits {
        RetainedQuota.Limits(
            maxMessagesPerClient: maxRetainedMessagesPerClient,
            maxBytesPerClient: maxRetainedBytesPerClient,
            maxBytes: maxRetainedBytes
        )
    }

    public init() {}
}
