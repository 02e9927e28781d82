import DequeModule
import NIOCore
import OrderedCollections

/// The bookkeeping of one ``MQTTClient``: the connection's state, packet identifiers, operations
/// awaiting an acknowledgement, the in-flight window and the subscriptions to restore after a
/// reconnect. Events in, resumptions out; the caller resumes them outside its lock.
struct MQTTClientStateMachine {
    enum Connection {
        /// No connection; one may be on its way.
        case disconnected
        /// TCP is up, CONNECT sent, CONNACK awaited.
        case connecting(any Channel)
        /// CONNACK accepted; `inflightLimit` QoS 1 publishes may await PUBACK.
        case connected(any Channel, inflightLimit: Int)
        /// ``MQTTClient/run()`` returned or is returning; nothing more happens.
        case stopped
    }

    /// Continuations to resume once the lock is released.
    struct Resumptions {
        var voids: [(CheckedContinuation<Void, any Error>, Result<Void, any Error>)] = []
        var subscribes: [(CheckedContinuation<[ReasonCode], any Error>, Result<[ReasonCode], any Error>)] = []

        func resume() {
            for (continuation, result) in voids { continuation.resume(with: result) }
            for (continuation, result) in subscribes { continuation.resume(with: result) }
        }
    }

    struct PendingSubscribe {
        var requests: [SubscriptionRequest]
        var continuation: CheckedContinuation<[ReasonCode], any Error>?
    }

    private(set) var connection: Connection = .disconnected
    private(set) var subscriptions: OrderedDictionary<String, SubscriptionRequest> = [:]
    private var nextPacketID: UInt16 = 1
    private var pendingPublishes: [UInt16: CheckedContinuation<Void, any Error>] = [:]
    private var pendingSubscribes: [UInt16: PendingSubscribe] = [:]
    private var pendingUnsubscribes: [UInt16: CheckedContinuation<Void, any Error>] = [:]
    private var inflight = 0
    private var slotWaiters: Deque<CheckedContinuation<Void, any Error>> = []
    private var connectionWaiters: [CheckedContinuation<Void, any Error>] = []
    private let configuredInflight: Int

    init(maximumInflight: Int) {
        configuredInflight = max(1, maximumInflight)
    }

    /// QoS 1 publishes holding an in-flight slot (sent or about to be, PUBACK not yet seen).
    var inflightPublishes: Int { inflight }

    /// QoS 1 publishes waiting for an in-flight slot.
    var publishesAwaitingSlot: Int { slotWaiters.count }

    var isStopped: Bool { if case .stopped = connection { true } else { false } }

    /// The channel of the current connection, connected or connecting.
    var channel: (any Channel)? {
        switch connection {
        case .connecting(let channel), .connected(let channel, _): channel
        case .disconnected, .stopped: nil
        }
    }

    /// The channel if CONNACK was accepted.
    var connectedChannel: (any Channel)? {
        if case .connected(let channel, _) = connection { channel } else { nil }
    }

    // MARK: - Connection events

    mutating func connecting(_ channel: any Channel) -> Bool {
        guard !isStopped else { return false }
        connection = .connecting(channel)
        return true
    }

    /// CONNACK accepted: opens the in-flight window and wakes callers waiting for a connection.
    /// - Returns: the SUBSCRIBE that restores the subscriptions (nil if there are none), and the
    ///   waiters to resume.
    mutating func connected(receiveMaximum: UInt16?) -> (Subscribe?, Resumptions) {
        guard case .connecting(let channel) = connection else { return (nil, Resumptions()) }
        let limit = min(configuredInflight, Int(receiveMaximum ?? UInt16.max))
        connection = .connected(channel, inflightLimit: max(1, limit))
        var resumptions = Resumptions()
        resumptions.voids = connectionWaiters.map { ($0, .success(())) }
        connectionWaiters = []
        guard !subscriptions.isEmpty else { return (nil, resumptions) }
        let id = allocatePacketID()
        let requests = Array(subscriptions.values)
        pendingSubscribes[id] = PendingSubscribe(requests: requests, continuation: nil)
        return (Subscribe(packetID: id, subscriptions: requests), resumptions)
    }

    /// The connection closed (or never came up): fails everything awaiting an acknowledgement.
    mutating func disconnected(error: MQTTClientError, stopping: Bool) -> Resumptions {
        var resumptions = Resumptions()
        for continuation in pendingPublishes.values { resumptions.voids.append((continuation, .failure(error))) }
        for continuation in pendingUnsubscribes.values { resumptions.voids.append((continuation, .failure(error))) }
        for continuation in slotWaiters { resumptions.voids.append((continuation, .failure(error))) }
        for pending in pendingSubscribes.values {
            if let continuation = pending.continuation {
                resumptions.subscribes.append((continuation, .failure(error)))
            }
        }
        pendingPublishes = [:]
        pendingUnsubscribes = [:]
        pendingSubscribes = [:]
        slotWaiters = []
        inflight = 0
        if stopping {
            for continuation in connectionWaiters { resumptions.voids.append((continuation, .failure(error))) }
            connectionWaiters = []
            connection = .stopped
        } else if !isStopped {
            connection = .disconnected
        }
        return resumptions
    }

    /// Parks a caller until the next CONNACK; resumes it at once when connected.
    mutating func waitForConnection(
        _ continuation: CheckedContinuation<Void, any Error>,
        stoppedError: MQTTClientError
    )
        -> Resumptions
    {
        var resumptions = Resumptions()
        switch connection {
        case .connected: resumptions.voids.append((continuation, .success(())))
        case .stopped: resumptions.voids.append((continuation, .failure(stoppedError)))
        case .connecting, .disconnected: connectionWaiters.append(continuation)
        }
        return resumptions
    }

    // MARK: - QoS 1 publish

    enum SlotDecision {
        case granted
        case wait
        case fail
    }

    /// Takes an in-flight slot for a QoS 1 publish, or parks the caller until one frees up.
    mutating func acquireSlot(_ continuation: CheckedContinuation<Void, any Error>) -> SlotDecision {
        guard case .connected(_, let limit) = connection else { return .fail }
        if inflight < limit {
            inflight += 1
            return .granted
        }
        slotWaiters.append(continuation)
        return .wait
    }

    /// Registers a QoS 1 publish holding a slot; returns its packet identifier and channel.
    mutating func registerPublish(_ continuation: CheckedContinuation<Void, any Error>) -> (UInt16, any Channel)? {
        guard let channel = connectedChannel else { return nil }
        let id = allocatePacketID()
        pendingPublishes[id] = continuation
        return (id, channel)
    }

    /// A publish gave up its slot without a PUBACK (its write failed).
    mutating func abandonPublish(_ id: UInt16?, error: any Error) -> Resumptions {
        var resumptions = Resumptions()
        if let id, let continuation = pendingPublishes.removeValue(forKey: id) {
            resumptions.voids.append((continuation, .failure(error)))
        }
        releaseSlot(into: &resumptions)
        return resumptions
    }

    /// PUBACK arrived.
    mutating func publishAcknowledged(_ ack: PublishAck, endpoint: String) -> Resumptions {
        var resumptions = Resumptions()
        guard let continuation = pendingPublishes.removeValue(forKey: ack.packetID) else { return resumptions }
        if ack.reasonCode.isFailure {
            let error = MQTTClientError(
                code: .publishRejected,
                message: "broker \(endpoint) refused PUBLISH \(ack.packetID): \(ack.reasonCode.clientDescription)",
                reasonCode: ack.reasonCode
            )
            resumptions.voids.append((continuation, .failure(error)))
        } else {
            resumptions.voids.append((continuation, .success(())))
        }
        releaseSlot(into: &resumptions)
        return resumptions
    }

    private mutating func releaseSlot(into resumptions: inout Resumptions) {
        if let next = slotWaiters.popFirst() {
            resumptions.voids.append((next, .success(())))  // the slot passes to the next waiter
        } else {
            inflight = max(0, inflight - 1)
        }
    }

    // MARK: - Subscribe and unsubscribe

    mutating func registerSubscribe(
        _ requests: [SubscriptionRequest],
        _ continuation: CheckedContinuation<[ReasonCode], any Error>
    ) -> (UInt16, any Channel)? {
        guard let channel = connectedChannel else { return nil }
        let id = allocatePacketID()
        pendingSubscribes[id] = PendingSubscribe(requests: requests, continuation: continuation)
        return (id, channel)
    }

    /// SUBACK arrived: granted filters are remembered for reconnects.
    mutating func subscribeAcknowledged(_ ack: SubAck) -> Resumptions {
        var resumptions = Resumptions()
        guard let pending = pendingSubscribes.removeValue(forKey: ack.packetID) else { return resumptions }
        for (request, code) in zip(pending.requests, ack.reasonCodes) where !code.isFailure {
            subscriptions[request.filter] = request
        }
        if let continuation = pending.continuation {
            resumptions.subscribes.append((continuation, .success(ack.reasonCodes)))
        }
        return resumptions
    }

    mutating func registerUnsubscribe(
        _ filters: [String],
        _ continuation: CheckedContinuation<Void, any Error>
    )
        -> (UInt16, any Channel)?
    {
        guard let channel = connectedChannel else { return nil }
        for filter in filters { subscriptions[filter] = nil }
        let id = allocatePacketID()
        pendingUnsubscribes[id] = continuation
        return (id, channel)
    }

    mutating func unsubscribeAcknowledged(_ ack: UnsubAck) -> Resumptions {
        var resumptions = Resumptions()
        if let continuation = pendingUnsubscribes.removeValue(forKey: ack.packetID) {
            resumptions.voids.append((continuation, .success(())))
        }
        return resumptions
    }

    /// A failed write of a SUBSCRIBE or UNSUBSCRIBE.
    mutating func abandonRequest(_ id: UInt16, error: any Error) -> Resumptions {
        var resumptions = Resumptions()
        if let pending = pendingSubscribes.removeValue(forKey: id), let continuation = pending.continuation {
            resumptions.subscribes.append((continuation, .failure(error)))
        }
        if let continuation = pendingUnsubscribes.removeValue(forKey: id) {
            resumptions.voids.append((continuation, .failure(error)))
        }
        return resumptions
    }

    // MARK: - Packet identifiers

    /// The next free packet identifier (1...65535, skipping those in use).
    private mutating func allocatePacketID() -> UInt16 {
        while true {
            let id = nextPacketID
            nextPacketID = nextPacketID == UInt16.max ? 1 : nextPacketID + 1
            if pendingPublishes[id] == nil && pendingSubscribes[id] == nil && pendingUnsubscribes[id] == nil {
                return id
            }
        }
    }
}
