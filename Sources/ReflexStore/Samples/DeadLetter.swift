public import ReflexCore

/// A rejected message, kept with the reason so an operator can see what was wrong.
public struct DeadLetter: Sendable, Hashable {
    /// Increasing identifier; pages go backwards with ``SQLiteSampleStore/deadLetters(limit:before:)``.
    public var id: Int64
    /// When Reflex received the message, in ms since the epoch.
    public var receivedAt: Int64
    /// The sending device, when known.
    public var device: DeviceID?
    /// The MQTT topic (or other source) of the message.
    public var topic: String
    /// Why it was rejected.
    public var reason: String
    /// The first bytes of the payload (bounded by the store's `deadLetterPayloadLimit`).
    public var payload: [UInt8]
    /// The payload's full size in bytes.
    public var payloadSize: Int

    /// Creates a dead letter.
    public init(
        id: Int64,
        receivedAt: Int64,
        device: DeviceID?,
        topic: String,
        reason: String,
        payload: [UInt8],
        payloadSize: Int
    ) {
        self.id = id
        self.receivedAt = receivedAt
        self.device = device
        self.topic = topic
        self.reason = reason
        self.payload = payload
        self.payloadSize = payloadSize
    }
}
