public import NIOCore

/// A PUBLISH from a client, as shown to a ``PublishInterceptor`` before it is routed.
public struct InterceptedPublish: Sendable {
    public var clientID: String
    public var identity: ClientIdentity
    public var topic: String
    public var payload: ByteBuffer
    public var qos: QoS
    public var retain: Bool
    /// The v5 content type, if the client sent one.
    public var contentType: String?

    public init(
        clientID: String,
        identity: ClientIdentity,
        topic: String,
        payload: ByteBuffer,
        qos: QoS,
        retain: Bool,
        contentType: String?
    ) {
        self.clientID = clientID
        self.identity = identity
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.contentType = contentType
    }
}

/// What the broker does with an intercepted PUBLISH.
public enum PublishDisposition: Sendable {
    /// Route it and acknowledge it now.
    case accept
    /// Do not route it. v5 clients get the reason code in PUBACK/PUBREC (QoS 1/2); 3.1.1
    /// clients get a plain acknowledgement (their protocol cannot refuse a message), QoS 0 is
    /// dropped. Use it for bad payloads that were recorded elsewhere (dead letters).
    case reject(ReasonCode)
    /// Route it now, but send the PUBACK/PUBREC only when `future` completes: with `.success`
    /// normally, with a failure code (v5) if the work failed. A failed future, or a failure
    /// code toward a 3.1.1 client, closes the connection without acknowledging, so the client
    /// sends the message again. Acknowledgements leave in the order the PUBLISHes arrived.
    case acceptAfter(EventLoopFuture<ReasonCode>)
}

/// Sees every PUBLISH a client sends, after topic validation and authorization and before
/// routing; the ingest pipeline uses it to acknowledge telemetry only once it is stored.
///
/// Called on the broker's event loop for every message, so ``intercept(_:)`` must be quick and
/// must not block: hand slow work to another thread and return ``PublishDisposition/acceptAfter(_:)``
/// with a future made from `eventLoop` (the broker's loop, passed in).
public protocol PublishInterceptor: Sendable {
    func intercept(_ publish: InterceptedPublish, eventLoop: any EventLoop) -> PublishDisposition
}
