public import NIOCore

/// A message as routed inside the broker: built once from an incoming PUBLISH (or a will, or a
/// `$SYS` update) and shared by reference among every subscriber it is delivered to.
public final class ApplicationMessage: Sendable {
    public let topic: String
    public let payload: ByteBuffer
    /// The QoS it was published with (each subscriber receives at most its subscription's QoS).
    public let qos: QoS
    /// The retain flag as published.
    public let retain: Bool
    /// v5 properties forwarded to subscribers: payload format indicator, content type, response
    /// topic, correlation data and user properties. Message expiry is kept as ``expiresAt``.
    public let properties: Properties
    /// When the message expires (from the v5 message expiry interval); nil: never.
    public let expiresAt: NIODeadline?
    /// The client that published it, for the v5 no-local option; nil for broker-made messages.
    public let publisherClientID: String?
    /// The identity that published it (the owner of a retained message, for its quota); nil for
    /// broker-made messages and retained messages restored without a recorded owner.
    public let publisher: ClientIdentity?

    public init(
        topic: String,
        payload: ByteBuffer,
        qos: QoS,
        retain: Bool,
        properties: Properties,
        expiresAt: NIODeadline?,
        publisherClientID: String?,
        publisher: ClientIdentity? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
        self.expiresAt = expiresAt
        self.publisherClientID = publisherClientID
        self.publisher = publisher
    }

    /// Whether the message's expiry has passed at `now`.
    @inline(__always)
    public func isExpired(at now: NIODeadline) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }

    /// The same message with the retain flag changed (used for retained copies).
    public func withRetain(_ retain: Bool) -> ApplicationMessage {
        ApplicationMessage(
            topic: topic,
            payload: payload,
            qos: qos,
            retain: retain,
            properties: properties,
            expiresAt: expiresAt,
            publisherClientID: publisherClientID,
            publisher: publisher
        )
    }
}

/// One message on its way to one session: the shared message plus what this subscriber's
/// subscription decided (granted QoS, retain flag as it will be sent, subscription identifiers).
struct Delivery {
    let message: ApplicationMessage
    let qos: QoS
    let retain: Bool
    let subscriptionIdentifiers: [Int]
    /// Its number in the session store (see ``PersistedMessage/sequence``): set when it was
    /// routed to a persistent session and recorded there; nil otherwise.
    var sequence: Int64? = nil
}
