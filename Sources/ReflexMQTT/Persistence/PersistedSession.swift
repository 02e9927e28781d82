public import Foundation

/// A persistent session as written to a ``SessionStore``: everything the broker needs to resume
/// a client that reconnects with clean start = false after a broker restart.
public struct PersistedSession: Sendable, Codable, Equatable {
    public var clientID: String
    public var protocolVersion: UInt8
    /// Session expiry interval in seconds; `UInt32.max` means never.
    public var expiryIntervalSeconds: UInt32
    /// When the client disconnected (nil if it was connected when the snapshot was taken; such
    /// a session is treated as disconnected at the time of the snapshot on restore).
    public var disconnectedAt: Date?
    public var subscriptions: [PersistedSubscription]
    /// QoS 1/2 messages not yet completed, in delivery order; the ones already sent once are
    /// redelivered with DUP set.
    public var messages: [PersistedMessage]
    /// Packet identifiers of QoS 2 messages whose PUBREC was sent and PUBREL not yet received
    /// (incoming exactly-once flow); they must not be delivered twice.
    public var incomingQoS2PacketIDs: [UInt16]
    /// The identity that created the session. Nil in snapshots written before owners were
    /// recorded: such a session is discarded when an authenticated identity connects with its
    /// client id (see the broker's session ownership rules in docs/mqtt.md).
    public var owner: PersistedOwner?

    public init(
        clientID: String,
        protocolVersion: UInt8,
        expiryIntervalSeconds: UInt32,
        disconnectedAt: Date?,
        subscriptions: [PersistedSubscription],
        messages: [PersistedMessage],
        incomingQoS2PacketIDs: [UInt16],
        owner: PersistedOwner? = nil
    ) {
        self.clientID = clientID
        self.protocolVersion = protocolVersion
        self.expiryIntervalSeconds = expiryIntervalSeconds
        self.disconnectedAt = disconnectedAt
        self.subscriptions = subscriptions
        self.messages = messages
        self.incomingQoS2PacketIDs = incomingQoS2PacketIDs
        self.owner = owner
    }
}

/// One subscription of a persistent session.
public struct PersistedSubscription: Sendable, Codable, Equatable {
    /// The filter as the client sent it, including any `$share/{group}/` prefix.
    public var filter: String
    public var qos: UInt8
    public var noLocal: Bool
    public var retainAsPublished: Bool
    public var retainHandling: UInt8
    public var subscriptionIdentifier: Int?

    public init(
        filter: String,
        qos: UInt8,
        noLocal: Bool,
        retainAsPublished: Bool,
        retainHandling: UInt8,
        subscriptionIdentifier: Int?
    ) {
        self.filter = filter
        self.qos = qos
        self.noLocal = noLocal
        self.retainAsPublished = retainAsPublished
        self.retainHandling = retainHandling
        self.subscriptionIdentifier = subscriptionIdentifier
    }
}

/// One queued or in-flight message of a persistent session.
public struct PersistedMessage: Sendable, Codable, Equatable {
    public enum Phase: String, Sendable, Codable {
        /// Not yet sent to the client.
        case queued
        /// Sent (PUBLISH) and not acknowledged; redeliver with DUP.
        case awaitingAck
        /// QoS 2: PUBREC received, PUBREL sent, PUBCOMP not yet received; resend PUBREL.
        case awaitingComplete
    }
    public var packetID: UInt16?
    public var phase: Phase
    public var topic: String
    public var payload: Data
    public var qos: UInt8
    public var retain: Bool
    /// Absolute expiry time, from the v5 message expiry interval.
    public var expiresAt: Date?
    public var contentType: String?
    public var responseTopic: String?
    public var correlationData: Data?
    public var payloadFormatIndicator: UInt8?
    public var userProperties: [UserProperty]
    public var subscriptionIdentifiers: [Int]
    /// Who published it, for a retained message (its quota); nil for broker-made messages and in
    /// snapshots written before owners were recorded.
    public var owner: PersistedOwner?
    /// The broker's number for this copy of the message, unique across sessions and increasing
    /// in routing order: the key of its row in a store that saves messages one by one. Nil in
    /// snapshots written before messages were stored one by one, and for retained messages.
    public var sequence: Int64?

    public init(
        packetID: UInt16?,
        phase: Phase,
        topic: String,
        payload: Data,
        qos: UInt8,
        retain: Bool,
        expiresAt: Date?,
        contentType: String?,
        responseTopic: String?,
        correlationData: Data?,
        payloadFormatIndicator: UInt8?,
        userProperties: [UserProperty],
        subscriptionIdentifiers: [Int],
        owner: PersistedOwner? = nil,
        sequence: Int64? = nil
    ) {
        self.packetID = packetID
        self.phase = phase
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.expiresAt = expiresAt
        self.contentType = contentType
        self.responseTopic = responseTopic
        self.correlationData = correlationData
        self.payloadFormatIndicator = payloadFormatIndicator
        self.userProperties = userProperties
        self.subscriptionIdentifiers = subscriptionIdentifiers
        self.owner = owner
        self.sequence = sequence
    }
}

/// The identity that owns a persisted session or published a retained message.
public struct PersistedOwner: Sendable, Codable, Equatable {
    /// The principal (device id, `operator:<name>`); nil for the anonymous identity.
    public var principal: String?
    /// Its roles when it was recorded, sorted.
    public var roles: [String]

    /// - Parameters:
    ///   - principal: the identity's principal; nil for the anonymous identity.
    ///   - roles: its roles (any order; kept as given).
    public init(principal: String?, roles: [String]) {
        self.principal = principal
        self.roles = roles
    }

    init(_ identity: ClientIdentity) {
        self.init(principal: identity.principal, roles: identity.roles.sorted())
    }

    var identity: ClientIdentity { ClientIdentity(principal: principal, roles: Set(roles)) }
}
