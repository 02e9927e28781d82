import DequeModule
import NIOCore
import OrderedCollections

/// The broker-side state of one client id: its subscriptions, the QoS 1/2 messages in flight
/// toward it, the messages queued behind the inflight window (or while it is offline), and the
/// incoming QoS 2 packet ids awaiting PUBREL. A session outlives its connection when the client
/// asked for a session expiry interval (v5) or clean session = false (3.1.1).
///
/// Confined to the broker's event loop: every method is called on that loop only, which is
/// what makes the `@unchecked Sendable` conformance safe.
final class Session: @unchecked Sendable {
    /// An outgoing QoS 1/2 message that was sent and is not yet fully acknowledged.
    struct Inflight {
        enum Phase {
            /// PUBLISH sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
            case awaitingAck
            /// QoS 2: PUBREC received, PUBREL sent; waiting for PUBCOMP.
            case awaitingComplete
        }
        var delivery: Delivery
        var phase: Phase
    }

    let clientID: String
    /// The identity that created the session (see ``SessionOwnership``); nil only for a session
    /// restored from a snapshot written before owners were recorded.
    var owner: ClientIdentity?
    var version: ProtocolVersion
    /// Seconds the session outlives its connection; 0 ends it at disconnect; `UInt32.max` never.
    var expiryIntervalSeconds: UInt32
    /// Subscriptions keyed by the filter as sent (including a `$share/{group}/` prefix).
    var subscriptions: [String: (filter: TopicFilter, options: SubscriptionOptions)] = [:]
    var queue: Deque<Delivery> = []
    var inflight: OrderedDictionary<UInt16, Inflight> = [:]
    /// Incoming QoS 2 packet ids whose PUBREC was sent and whose PUBREL has not arrived.
    var incomingQoS2: Set<UInt16> = []
    private var nextPacketID: UInt16 = 1

    /// The live connection, nil while the client is offline.
    var connection: MQTTConnectionHandler?
    /// When the client went offline (monotonic), nil while connected.
    var disconnectedAt: NIODeadline?
    /// Fires when the session expires while offline.
    var expiryTask: Scheduled<Void>?
    /// A will waiting out its v5 will delay interval.
    var pendingWill: (message: ApplicationMessage, task: Scheduled<Void>)?

    // MARK: - Counters shown in $SYS
    /// Messages dropped for this client because its queue was full (any QoS).
    var droppedMessages = 0
    /// QoS 1/2 messages among ``droppedMessages``.
    var droppedReliableMessages = 0
    /// Times this client was disconnected for being too slow.
    var slowDisconnects = 0
    /// Messages discarded because they expired before delivery.
    var expiredMessages = 0

    init(clientID: String, owner: ClientIdentity?, version: ProtocolVersion, expiryIntervalSeconds: UInt32) {
        self.clientID = clientID
        self.owner = owner
        self.version = version
        self.expiryIntervalSeconds = expiryIntervalSeconds
    }

    var isPersistent: Bool { expiryIntervalSeconds > 0 }

    /// A packet identifier not in use by an inflight message.
    /// - Complexity: O(1) amortised; the inflight window is far smaller than the id space.
    func allocatePacketID() -> UInt16 {
        while true {
            let id = nextPacketID
            nextPacketID = nextPacketID == UInt16.max ? 1 : nextPacketID + 1
            if inflight[id] == nil { return id }
        }
    }

    /// Removes every pending delivery and returns how many QoS 1/2 messages were discarded.
    func discardPendingMessages() -> Int {
        let count = inflight.count + queue.reduce(0) { $0 + ($1.qos == .atMostOnce ? 0 : 1) }
        inflight.removeAll()
        queue.removeAll()
        incomingQoS2.removeAll()
        return count
    }
}
