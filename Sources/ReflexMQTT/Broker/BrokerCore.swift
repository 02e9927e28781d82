import DequeModule
import Logging
import NIOCore
import OrderedCollections

/// The broker's shared state and routing: sessions by client id, the subscription index, the
/// retained messages and the counters. One instance per broker.
///
/// Confined to the broker's single event loop: every connection handler and timer runs on that
/// loop and calls in synchronously, so no lock is needed on the hot path (mosquitto makes the
/// same choice). That confinement is the invariant behind `@unchecked Sendable`.
final class BrokerCore: @unchecked Sendable {
    let eventLoop: any EventLoop
    let configuration: BrokerConfiguration
    let logger: Logger
    let authorizer: any TopicAuthorizer
    /// Sees client publishes before routing (the ingest pipeline); nil: route everything.
    let interceptor: (any PublishInterceptor)?
    /// The interceptor again, if it also wants connection events.
    let clientEvents: (any ClientEventObserver)?
    let startedAt: NIODeadline

    var sessions: [String: Session] = [:]
    var subscriptions = SubscriptionIndex<SessionRef, SubscriptionOptions>()
    var retained = RetainedIndex<ApplicationMessage>()
    var statistics = BrokerStatistics()
    /// Connections that were written to and need a flush at the end of this loop tick.
    private var connectionsToFlush: [MQTTConnectionHandler] = []
    private var flushScheduled = false
    /// Open connections (before and after CONNECT).
    var openConnections = 0
    /// Connections whose CONNECT was accepted.
    var connectedClients = 0 {
        didSet { connectedCount?.set(connectedClients) }
    }
    /// Mirrors ``connectedClients`` for readers off the loop (`/metrics`, `/health`).
    var connectedCount: ConnectedClientCount?
    /// Set when sessions changed since the last save.
    var isDirty = false
    /// Topics whose retained message was set, replaced or deleted since the last save, in order:
    /// the save writes just these rows (see ``BrokerSnapshot``), not the whole retained set.
    var retainedChanges = OrderedSet<String>()
    /// Where changes to persistent sessions go before their acknowledgements (see
    /// ``commitDurably()``); nil without a session store.
    var journal: BrokerJournal?
    /// Counts changes that an acknowledgement must wait for (a message stored for a persistent
    /// session, a session record, a retained message); compared before and after a routing.
    var durableChangeCount = 0
    /// Retained messages per owner and node-wide, against the configured limits.
    var retainedQuota: RetainedQuota
    private var dropLogLimiter = RateLimiter(interval: .seconds(10))
    private var retainedQuotaLogLimiter = RateLimiter(interval: .seconds(10))
    /// Reused between routings to avoid an allocation per message (re-entrant routing, e.g. a
    /// will published during a delivery, simply uses a fresh array).
    private var routeScratch: [(Session, SubscriptionOptions)] = []

    init(
        eventLoop: any EventLoop,
        configuration: BrokerConfiguration,
        authorizer: any TopicAuthorizer,
        interceptor: (any PublishInterceptor)? = nil,
        logger: Logger
    ) {
        self.interceptor = interceptor
        self.clientEvents = interceptor as? any ClientEventObserver
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.authorizer = authorizer
        self.logger = logger
        self.startedAt = eventLoop.now
        self.retainedQuota = RetainedQuota(limits: configuration.retainedLimits)
    }

    /// Whether there is anything to save.
    var hasUnsavedChanges: Bool { isDirty || !retainedChanges.isEmpty }

    // MARK: - Connections

    /// Every open connection, for timeouts and shutdown.
    private(set) var connections: [ObjectIdentifier: MQTTConnectionHandler] = [:]
    private var housekeeping: RepeatedTask?
    private var closeWaiters: [EventLoopPromise<Void>] = []

    func register(_ connection: MQTTConnectionHandler) {
        connections[ObjectIdentifier(connection)] = connection
        openConnections += 1
    }

    func unregister(_ connection: MQTTConnectionHandler) {
        if connections.removeValue(forKey: ObjectIdentifier(connection)) != nil {
            openConnections -= 1
        }
        if connections.isEmpty && !closeWaiters.isEmpty {
            let waiting = closeWaiters
            closeWaiters.removeAll()
            for promise in waiting { promise.succeed() }
        }
    }

    /// Closes every connection for shutdown (v5 clients get DISCONNECT 0x8B). Wills are not
    /// published: the server going away is not the client's failure. Safe to call from any
    /// thread; the future completes when the last connection is closed.
    func closeAllConnections() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            for connection in Array(self.connections.values) {
                connection.will = nil
                connection.closeWithReason(.serverShuttingDown, reasonString: "the broker is shutting down")
            }
            self.flushAll()
            if self.connections.isEmpty { return self.eventLoop.makeSucceededVoidFuture() }
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.closeWaiters.append(promise)
            return promise.futureResult
        }
    }

    /// Checks CONNECT and keep-alive timeouts of every connection once per `interval`: one
    /// timer for the broker instead of one per connection (idle connections stay small).
    func startHousekeeping(every interval: TimeAmount = .seconds(1)) {
        housekeeping = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            self.checkTimeouts()
        }
    }

    func stopHousekeeping() {
        housekeeping?.cancel()
        housekeeping = nil
    }

    func checkTimeouts() {
        let now = eventLoop.now
        for connection in Array(connections.values) {
            connection.checkTimeouts(now: now)
        }
        flushAll()
    }

    // MARK: - Flushing

    /// Remembers that `connection` has unflushed writes; all are flushed once per loop tick, so
    /// a burst of publishes costs one syscall per subscriber rather than one per message.
    func markNeedsFlush(_ connection: MQTTConnectionHandler) {
        guard !connection.needsFlush else { return }
        connection.needsFlush = true
        connectionsToFlush.append(connection)
        if !flushScheduled {
            flushScheduled = true
            eventLoop.execute { self.flushAll() }
        }
    }

    func flushAll() {
        flushScheduled = false
        guard !connectionsToFlush.isEmpty else { return }
        let pending = connectionsToFlush
        connectionsToFlush.removeAll(keepingCapacity: true)
        for connection in pending {
            connection.needsFlush = false
            connection.flush()
        }
    }

    // MARK: - Routing

    /// Routes a message to every matching subscription and updates the retained store.
    /// - Complexity: O(levels + matches) through the subscription trie.
    /// - Returns: how many subscriptions it was delivered to.
    @discardableResult
    func route(_ message: ApplicationMessage) -> Int {
        if message.retain {
            updateRetained(message)
        }
        // Matches are collected first and delivered after the walk: a delivery can close a
        // connection (slow consumer) and end its session, which edits the index.
        var matches = routeScratch
        routeScratch = []
        let publisher = message.publisherClientID
        subscriptions.forEachMatch(topic: message.topic) { ref, options in
            if options.noLocal, let publisher, ref.session.clientID == publisher { return }
            matches.append((ref.session, options))
        }
        subscriptions.forEachSharedMatch(
            topic: message.topic,
            isAvailable: { $0.session.connection != nil },
            { ref, options in matches.append((ref.session, options)) }
        )
        for (session, options) in matches {
            deliver(message, to: session, options: options, retainedOnSubscribe: false)
        }
        let count = matches.count
        matches.removeAll(keepingCapacity: true)
        routeScratch = matches
        return count
    }

    /// Sets, replaces or (empty payload) deletes the retained message of a topic. The payload
    /// is copied so that a long-lived retained message does not pin a large read buffer. A
    /// client's message over its quota is not retained (PUBLISH refuses it before routing; this
    /// catches retained wills, which were authorized at CONNECT).
    private func updateRetained(_ message: ApplicationMessage) {
        let persistent = !message.topic.hasPrefix("$SYS")
        if message.payload.readableBytes == 0 {
            if let removed = retained.remove(topic: message.topic), persistent {
                retainedQuota.recordRemoved(Self.quotaEntry(removed))
                retainedChanges.append(message.topic)
                durableChangeCount &+= 1
            }
            return
        }
        let entry = RetainedQuota.Entry(
            owner: message.publisher,
            bytes: RetainedQuota.size(topic: message.topic, payloadBytes: message.payload.readableBytes)
        )
        let previous = retained.message(for: message.topic).map(Self.quotaEntry)
        if persistent {
            do {
                try retainedQuota.check(entry, replacing: previous)
            } catch {
                retainedQuotaRefused(topic: message.topic, publisher: message.publisher, error)
                return
            }
        }
        var payload = ByteBufferAllocator().buffer(capacity: message.payload.readableBytes)
        payload.writeImmutableBuffer(message.payload)
        retained.set(
            topic: message.topic,
            message: ApplicationMessage(
                topic: message.topic,
                payload: payload,
                qos: message.qos,
                retain: true,
                properties: message.properties,
                expiresAt: message.expiresAt,
                publisherClientID: message.publisherClientID,
                publisher: message.publisher
            )
        )
        if persistent {
            retainedQuota.recordSet(entry, replacing: previous)
            retainedChanges.append(message.topic)
            durableChangeCount &+= 1
        }
    }

    /// Checks a client's retained PUBLISH against its quota before it is routed. Deleting (empty
    /// payload) and `$SYS` are never refused. Logs and counts a refusal.
    /// - Throws: which limit it would pass.
    func checkRetainedQuota(topic: String, payloadBytes: Int, publisher: ClientIdentity) throws(RetainedQuota.Exceeded)
    {
        guard payloadBytes > 0, !topic.hasPrefix("$SYS") else { return }
        let entry = RetainedQuota.Entry(
            owner: publisher,
            bytes: RetainedQuota.size(topic: topic, payloadBytes: payloadBytes)
        )
        do {
            try retainedQuota.check(entry, replacing: retained.message(for: topic).map(Self.quotaEntry))
        } catch {
            retainedQuotaRefused(topic: topic, publisher: publisher, error)
            throw error
        }
    }

    private func retainedQuotaRefused(topic: String, publisher: ClientIdentity?, _ error: RetainedQuota.Exceeded) {
        statistics.retainedQuotaRefusals += 1
        if retainedQuotaLogLimiter.allow(now: eventLoop.now) {
            let usage = publisher.map { retainedQuota.usage(of: $0) } ?? RetainedQuota.Usage()
            logger.notice(
                "Refused a retained message over quota",
                metadata: [
                    "mqtt.principal": "\(publisher?.description ?? "none")",
                    "mqtt.topic": "\(topic)",
                    "mqtt.reason": "\(error)",
                    "mqtt.retained_messages": "\(usage.messages)",
                    "mqtt.retained_bytes": "\(usage.bytes)",
                    "mqtt.refused_total": "\(statistics.retainedQuotaRefusals)",
                ]
            )
        }
    }

    /// Retains a message read from the session store, counting it toward its owner's quota
    /// without checking it (limits may have been lowered since; the owner then cannot add more).
    func restoreRetained(_ message: ApplicationMessage) {
        let previous = retained.message(for: message.topic).map(Self.quotaEntry)
        retained.set(topic: message.topic, message: message)
        retainedQuota.recordSet(Self.quotaEntry(message), replacing: previous)
    }

    private static func quotaEntry(_ message: ApplicationMessage) -> RetainedQuota.Entry {
        RetainedQuota.Entry(
            owner: message.publisher,
            bytes: RetainedQuota.size(topic: message.topic, payloadBytes: message.payload.readableBytes)
        )
    }

    func deliver(
        _ message: ApplicationMessage,
        to session: Session,
        options: SubscriptionOptions,
        retainedOnSubscribe: Bool
    ) {
        let qos = min(message.qos, options.qos)
        let retain = retainedOnSubscribe ? true : (options.retainAsPublished && message.retain)
        let identifiers: [Int] = options.identifier.map { [$0] } ?? []
        enqueue(
            Delivery(message: message, qos: qos, retain: retain, subscriptionIdentifiers: identifiers),
            for: session
        )
    }

    /// Sends a delivery now if the session's connection can take it, otherwise queues it
    /// within the queue bound.
    func enqueue(_ delivery: Delivery, for session: Session) {
        var delivery = delivery
        if delivery.qos == .atMostOnce {
            guard let connection = session.connection else { return }  // QoS 0 is not queued for offline clients
            if session.queue.isEmpty && connection.isWritable {
                connection.sendPublish(delivery, packetID: nil, dup: false)
                return
            }
        } else {
            // With a journal the message is appended on its own (``recordQueued``); without
            // one, only a full save stores it.
            if session.isPersistent && journal == nil { isDirty = true }
            if let connection = session.connection, session.queue.isEmpty, connection.isWritable,
                session.inflight.count < connection.sendQuota
            {
                let id = session.allocatePacketID()
                recordQueued(&delivery, for: session, packetID: id)
                session.inflight[id] = Session.Inflight(delivery: delivery, phase: .awaitingAck)
                connection.sendPublish(delivery, packetID: id, dup: false)
                return
            }
            if session.connection == nil && !session.isPersistent { return }
        }
        guard session.queue.count < configuration.maxQueuedMessages else {
            queueOverflow(delivery, session: session)
            return
        }
        recordQueued(&delivery, for: session, packetID: nil)
        session.queue.append(delivery)
    }

    private func queueOverflow(_ delivery: Delivery, session: Session) {
        session.droppedMessages += 1
        if delivery.qos == .atMostOnce {
            statistics.droppedQoS0 += 1
            return
        }
        session.droppedReliableMessages += 1
        statistics.droppedReliable += 1
        let disconnecting = configuration.queueOverflowPolicy == .disconnectClient && session.connection != nil
        if dropLogLimiter.allow(now: eventLoop.now) {
            logger.warning(
                "Client queue full: QoS \(delivery.qos.rawValue) message dropped for this client",
                metadata: [
                    "mqtt.client_id": "\(session.clientID)",
                    "mqtt.queue_limit": "\(configuration.maxQueuedMessages)",
                    "mqtt.dropped_total": "\(session.droppedReliableMessages)",
                    "mqtt.action": "\(disconnecting ? "disconnect slow consumer" : "drop")",
                ]
            )
        }
        if disconnecting, let connection = session.connection {
            session.slowDisconnects += 1
            statistics.slowClientDisconnects += 1
            connection.closeWithReason(
                .quotaExceeded,
                reasonString: "receive queue of \(configuration.maxQueuedMessages) messages is full"
            )
        }
    }

    /// Sends queued messages while the inflight window and the socket allow.
    func drain(_ session: Session) {
        guard let connection = session.connection else { return }
        let now = eventLoop.now
        while let next = session.queue.first, connection.isWritable {
            if next.message.isExpired(at: now) {
                session.queue.removeFirst()
                recordRemoved(next, from: session)
                session.expiredMessages += 1
                statistics.expiredMessages += 1
                continue
            }
            if next.qos == .atMostOnce {
                session.queue.removeFirst()
                connection.sendPublish(next, packetID: nil, dup: false)
                continue
            }
            guard session.inflight.count < connection.sendQuota else { break }
            session.queue.removeFirst()
            let id = session.allocatePacketID()
            recordPhase(next, of: session, phase: .awaitingAck, packetID: id)
            session.inflight[id] = Session.Inflight(delivery: next, phase: .awaitingAck)
            connection.sendPublish(next, packetID: id, dup: false)
        }
    }

    /// Resends everything in flight after a reconnect (PUBLISH with DUP, or PUBREL), in order.
    func resendInflight(_ session: Session) {
        guard let connection = session.connection else { return }
        let now = eventLoop.now
        for (id, entry) in session.inflight {
            switch entry.phase {
            case .awaitingAck:
                if entry.delivery.message.isExpired(at: now) && session.version == .v5 {
                    // v5 allows discarding an expired message; the id is released.
                    session.inflight.removeValue(forKey: id)
                    recordRemoved(entry.delivery, from: session)
                    session.expiredMessages += 1
                    statistics.expiredMessages += 1
                    continue
                }
                connection.sendPublish(entry.delivery, packetID: id, dup: true)
            case .awaitingComplete:
                connection.send(.pubrel(PublishAck(packetID: id)))
            }
        }
    }

    // MARK: - Subscriptions

    /// Adds or replaces one subscription and sends matching retained messages as the options ask.
    /// - Returns: whether the subscription already existed.
    @discardableResult
    func subscribe(_ session: Session, filter: TopicFilter, options: SubscriptionOptions) -> Bool {
        let existed = addSubscription(session, filter: filter, options: options)
        sendRetained(to: session, filter: filter, options: options, existed: existed)
        return existed
    }

    /// Adds or replaces one subscription without sending retained messages.
    /// - Returns: whether the subscription already existed.
    func addSubscription(_ session: Session, filter: TopicFilter, options: SubscriptionOptions) -> Bool {
        let existed = session.subscriptions[filter.original] != nil
        session.subscriptions[filter.original] = (filter, options)
        subscriptions.insert(filter, subscriber: SessionRef(session: session), options: options)
        if session.isPersistent { isDirty = true }
        return existed
    }

    /// Sends the retained messages a new subscription asks for (its retain handling).
    func sendRetained(to session: Session, filter: TopicFilter, options: SubscriptionOptions, existed: Bool) {
        guard filter.shareGroup == nil else { return }  // no retained messages for shared subscriptions
        let sendRetained: Bool
        switch options.retainHandling {
        case .sendOnSubscribe: sendRetained = true
        case .sendIfNew: sendRetained = !existed
        case .doNotSend: sendRetained = false
        }
        if sendRetained {
            let now = eventLoop.now
            var expired: [String] = []
            var matching: [ApplicationMessage] = []
            retained.forEachMatch(filter: filter) { topic, message in
                if message.isExpired(at: now) {
                    expired.append(topic)
                } else {
                    matching.append(message)
                }
            }
            for message in matching {
                deliver(message, to: session, options: options, retainedOnSubscribe: true)
            }
            for topic in expired {
                if let removed = retained.remove(topic: topic) {
                    retainedQuota.recordRemoved(Self.quotaEntry(removed))
                    retainedChanges.append(topic)
                }
            }
        }
    }

    /// Removes one subscription. - Returns: whether it existed.
    @discardableResult
    func unsubscribe(_ session: Session, filterString: String) -> Bool {
        guard let entry = session.subscriptions.removeValue(forKey: filterString) else { return false }
        subscriptions.remove(entry.filter, subscriber: SessionRef(session: session))
        if session.isPersistent { isDirty = true }
        return true
    }

    /// Drops the subscriptions of `session` that `identity` may no longer make (a resumed or
    /// restored session: permissions may have changed since they were made), and the queued or
    /// unacknowledged messages that no remaining subscription matches, so that nothing they
    /// brought reaches the client. Logs the dropped filters at notice.
    /// - Returns: the dropped filters.
    @discardableResult
    func recheckSubscriptions(of session: Session, for identity: ClientIdentity) -> [String] {
        let dropped = session.subscriptions.keys.filter {
            !authorizer.maySubscribe(identity, clientID: session.clientID, filter: $0)
        }.sorted()
        guard !dropped.isEmpty else { return [] }
        for filter in dropped { unsubscribe(session, filterString: filter) }
        let remaining = session.subscriptions.values.map(\.filter)
        let isWanted = { (delivery: Delivery) in remaining.contains { $0.matches(delivery.message.topic) } }
        let queued = session.queue.count
        for delivery in session.queue where !isWanted(delivery) { recordRemoved(delivery, from: session) }
        session.queue.removeAll { !isWanted($0) }
        let inflight = session.inflight.count
        for entry in session.inflight.values where entry.phase == .awaitingAck && !isWanted(entry.delivery) {
            recordRemoved(entry.delivery, from: session)
        }
        session.inflight.removeAll { $0.value.phase == .awaitingAck && !isWanted($0.value.delivery) }
        statistics.droppedRestoredSubscriptions += dropped.count
        logger.notice(
            "Dropped restored subscriptions the identity may no longer make",
            metadata: [
                "mqtt.client_id": "\(session.clientID)",
                "mqtt.principal": "\(identity)",
                "mqtt.filters": "\(dropped.joined(separator: " "))",
                "mqtt.discarded": "\(queued - session.queue.count + inflight - session.inflight.count)",
            ]
        )
        if session.isPersistent { isDirty = true }
        return dropped
    }

    // MARK: - Session lifecycle

    /// Ends a session: removes its subscriptions, cancels its timers, publishes a pending will.
    func endSession(_ session: Session) {
        for (_, entry) in session.subscriptions {
            subscriptions.remove(entry.filter, subscriber: SessionRef(session: session))
        }
        session.subscriptions.removeAll()
        session.expiryTask?.cancel()
        session.expiryTask = nil
        if let will = session.pendingWill {
            will.task.cancel()
            session.pendingWill = nil
            route(will.message)
        }
        let discarded = session.discardPendingMessages()
        recordEnded(session)
        if discarded > 0 {
            logger.debug(
                "Session ended with undelivered messages",
                metadata: [
                    "mqtt.client_id": "\(session.clientID)", "mqtt.discarded": "\(discarded)",
                ]
            )
        }
        if sessions[session.clientID] === session {
            sessions.removeValue(forKey: session.clientID)
        }
        if session.isPersistent { isDirty = true }
    }

    /// Called when a session's connection went away: starts the expiry clock or ends it now.
    func sessionWentOffline(_ session: Session, will: ApplicationMessage?, willDelaySeconds: UInt32) {
        session.connection = nil
        session.disconnectedAt = eventLoop.now
        if let will {
            let delay = min(willDelaySeconds, session.expiryIntervalSeconds)
            if delay == 0 {
                route(will)
            } else {
                let task = eventLoop.scheduleTask(in: .seconds(Int64(delay))) { [weak session] in
                    guard let session, let pending = session.pendingWill else { return }
                    session.pendingWill = nil
                    self.route(pending.message)
                    self.flushAll()
                }
                session.pendingWill = (will, task)
            }
        }
        guard session.isPersistent else {
            endSession(session)
            return
        }
        isDirty = true
        scheduleExpiry(session)
    }

    func scheduleExpiry(_ session: Session) {
        session.expiryTask?.cancel()
        session.expiryTask = nil
        guard session.expiryIntervalSeconds != UInt32.max else { return }
        session.expiryTask = eventLoop.scheduleTask(in: .seconds(Int64(session.expiryIntervalSeconds))) {
            [weak session] in
            guard let session, session.connection == nil else { return }
            self.logger.debug("Session expired", metadata: ["mqtt.client_id": "\(session.clientID)"])
            self.endSession(session)
            self.flushAll()
        }
    }

    // MARK: - Broker-made messages

    /// Publishes a retained message from the broker itself (used for `$SYS`).
    func publishSystem(topic: String, value: String) {
        var buffer = ByteBufferAllocator().buffer(capacity: value.utf8.count)
        buffer.writeString(value)
        route(
            ApplicationMessage(
                topic: topic,
                payload: buffer,
                qos: .atMostOnce,
                retain: true,
                properties: Properties(),
                expiresAt: nil,
                publisherClientID: nil
            )
        )
    }
}

/// Lets an event through at most once per interval (for logs under load).
struct RateLimiter {
    let interval: TimeAmount
    private var last: NIODeadline?
    init(interval: TimeAmount) { self.interval = interval }
    mutating func allow(now: NIODeadline) -> Bool {
        if let last, now - last < interval { return false }
        last = now
        return true
    }
}
