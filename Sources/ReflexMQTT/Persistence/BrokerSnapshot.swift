import DequeModule
import Foundation
import Logging
import NIOCore
import OrderedCollections

/// A copy of the broker's durable state taken on the event loop, to be written elsewhere: every
/// persistent session (when they changed) and the retained messages changed since the last save.
struct BrokerSnapshot: Sendable {
    /// Every persistent session; nil when the sessions did not change and need no write.
    var sessions: [PersistedSession]?
    /// The retained messages of the topics in ``BrokerCore/retainedChanges``: the current message
    /// of each (upsert) or, if there is none, a deletion.
    var retained: RetainedChanges
    /// The topics ``retained`` covers, to mark them changed again if the save fails.
    var retainedTopics: [String]

    /// Takes the snapshot. Must run on the core's event loop; it does not clear the core's change
    /// marks (the caller does, and restores them if the save fails).
    /// - Parameter includeSessions: whether to copy the sessions (false: they did not change).
    init(core: BrokerCore, includeSessions: Bool = true) {
        let now = core.eventLoop.now
        let wallNow = Date()
        sessions = includeSessions ? Self.persistSessions(of: core, now: now, wallNow: wallNow) : nil
        retained = Self.retainedChanges(of: core, now: now, wallNow: wallNow)
        retainedTopics = Array(core.retainedChanges)
    }

    /// The current message (upsert) or deletion of every topic in ``BrokerCore/retainedChanges``.
    static func retainedChanges(of core: BrokerCore, now: NIODeadline? = nil, wallNow: Date = Date()) -> RetainedChanges
    {
        let now = now ?? core.eventLoop.now
        var changes = RetainedChanges()
        for topic in core.retainedChanges {
            if let message = core.retained.message(for: topic), !message.isExpired(at: now) {
                let delivery = Delivery(message: message, qos: message.qos, retain: true, subscriptionIdentifiers: [])
                changes.upserts.append(
                    Self.persist(delivery, packetID: nil, phase: .queued, now: now, wallNow: wallNow)
                )
            } else {
                changes.deletions.append(topic)
            }
        }
        return changes
    }

    /// Every persistent session of the core, messages included.
    static func persistSessions(of core: BrokerCore, now: NIODeadline, wallNow: Date) -> [PersistedSession] {
        core.sessions.values.filter(\.isPersistent).map { persist($0, now: now, wallNow: wallNow, messages: true) }
    }

    /// One session as stored; `messages: false` leaves its messages out (a record-only change).
    static func persist(
        _ session: Session,
        now: NIODeadline,
        wallNow: Date,
        messages includeMessages: Bool
    )
        -> PersistedSession
    {
        var messages: [PersistedMessage] = []
        if includeMessages {
            for (id, entry) in session.inflight {
                let phase: PersistedMessage.Phase = entry.phase == .awaitingAck ? .awaitingAck : .awaitingComplete
                messages.append(Self.persist(entry.delivery, packetID: id, phase: phase, now: now, wallNow: wallNow))
            }
            for delivery in session.queue where delivery.qos != .atMostOnce {
                messages.append(Self.persist(delivery, packetID: nil, phase: .queued, now: now, wallNow: wallNow))
            }
        }
        return PersistedSession(
            clientID: session.clientID,
            protocolVersion: session.version.rawValue,
            expiryIntervalSeconds: session.expiryIntervalSeconds,
            disconnectedAt: session.disconnectedAt.map {
                wallNow.addingTimeInterval(-Self.seconds($0, until: now))
            },
            subscriptions: session.subscriptions.values.map { entry in
                PersistedSubscription(
                    filter: entry.filter.original,
                    qos: entry.options.qos.rawValue,
                    noLocal: entry.options.noLocal,
                    retainAsPublished: entry.options.retainAsPublished,
                    retainHandling: entry.options.retainHandling.rawValue,
                    subscriptionIdentifier: entry.options.identifier
                )
            },
            messages: messages,
            incomingQoS2PacketIDs: Array(session.incomingQoS2).sorted(),
            owner: session.owner.map(PersistedOwner.init)
        )
    }

    /// Writes the sessions (if taken) and the retained changes.
    func save(to store: any SessionStore) async throws {
        if let sessions { try await store.saveSessions(sessions) }
        try await store.saveRetainedChanges(retained)
    }

    private static func seconds(_ deadline: NIODeadline, until now: NIODeadline) -> TimeInterval {
        TimeInterval((now - deadline).nanoseconds) / 1e9
    }

    static func persist(
        _ delivery: Delivery,
        packetID: UInt16?,
        phase: PersistedMessage.Phase,
        now: NIODeadline,
        wallNow: Date
    ) -> PersistedMessage {
        let message = delivery.message
        let properties = message.properties
        return PersistedMessage(
            packetID: packetID,
            phase: phase,
            topic: message.topic,
            payload: Data(message.payload.readableBytesView),
            qos: delivery.qos.rawValue,
            retain: delivery.retain,
            expiresAt: message.expiresAt.map { wallNow.addingTimeInterval(-seconds($0, until: now)) },
            contentType: properties.contentType,
            responseTopic: properties.responseTopic,
            correlationData: properties.correlationData.map { Data($0.readableBytesView) },
            payloadFormatIndicator: properties.payloadFormatIndicator,
            userProperties: properties.userProperties,
            subscriptionIdentifiers: delivery.subscriptionIdentifiers,
            owner: message.publisher.map(PersistedOwner.init),
            sequence: delivery.sequence
        )
    }

    private static func message(from persisted: PersistedMessage, now: NIODeadline, wallNow: Date) -> ApplicationMessage
    {
        var properties = Properties()
        properties.contentType = persisted.contentType
        properties.responseTopic = persisted.responseTopic
        properties.correlationData = persisted.correlationData.map { ByteBuffer(bytes: $0) }
        properties.payloadFormatIndicator = persisted.payloadFormatIndicator
        properties.userProperties = persisted.userProperties
        let expiresAt = persisted.expiresAt.map { now + .nanoseconds(Int64($0.timeIntervalSince(wallNow) * 1e9)) }
        return ApplicationMessage(
            topic: persisted.topic,
            payload: ByteBuffer(bytes: persisted.payload),
            qos: QoS(rawValue: persisted.qos) ?? .atLeastOnce,
            retain: persisted.retain,
            properties: properties,
            expiresAt: expiresAt,
            publisherClientID: nil,
            publisher: persisted.owner?.identity
        )
    }

    /// Rebuilds sessions and retained messages in the core. Must run on the core's event loop.
    /// A session's offline time restarts at the restore (the broker was down, not the client).
    static func restore(sessions: [PersistedSession], retained: [PersistedMessage], into core: BrokerCore) {
        let now = core.eventLoop.now
        let wallNow = Date()
        for persisted in sessions {
            for message in persisted.messages {
                if let sequence = message.sequence { core.journal?.observeSequence(sequence) }
            }
        }
        for persisted in retained {
            let message = message(from: persisted, now: now, wallNow: wallNow)
            if !message.isExpired(at: now) { core.restoreRetained(message) }
        }
        for persisted in sessions {
            let version = ProtocolVersion(rawValue: persisted.protocolVersion) ?? .v311
            let session = Session(
                clientID: persisted.clientID,
                owner: persisted.owner?.identity,
                version: version,
                expiryIntervalSeconds: persisted.expiryIntervalSeconds
            )
            for subscription in persisted.subscriptions {
                guard
                    let filter = try? TopicRules.parseFilter(
                        subscription.filter,
                        maxLength: core.configuration.maxTopicLength,
                        maxLevels: core.configuration.maxTopicLevels
                    )
                else {
                    core.logger.warning(
                        "Dropped an invalid persisted subscription",
                        metadata: ["mqtt.client_id": "\(persisted.clientID)", "mqtt.filter": "\(subscription.filter)"]
                    )
                    continue
                }
                let options = SubscriptionOptions(
                    qos: QoS(rawValue: subscription.qos) ?? .atMostOnce,
                    noLocal: subscription.noLocal,
                    retainAsPublished: subscription.retainAsPublished,
                    retainHandling: RetainHandling(rawValue: subscription.retainHandling) ?? .sendOnSubscribe,
                    identifier: subscription.subscriptionIdentifier
                )
                session.subscriptions[filter.original] = (filter, options)
                core.subscriptions.insert(filter, subscriber: SessionRef(session: session), options: options)
            }
            for persistedMessage in persisted.messages {
                var delivery = Delivery(
                    message: message(from: persistedMessage, now: now, wallNow: wallNow),
                    qos: QoS(rawValue: persistedMessage.qos) ?? .atLeastOnce,
                    retain: persistedMessage.retain,
                    subscriptionIdentifiers: persistedMessage.subscriptionIdentifiers
                )
                if let journal = core.journal {
                    // Older snapshots have no sequence: numbered now, stored by the next full save.
                    if let sequence = persistedMessage.sequence {
                        journal.observeSequence(sequence)
                        delivery.sequence = sequence
                    } else {
                        delivery.sequence = journal.allocateSequence()
                        core.isDirty = true
                    }
                }
                switch persistedMessage.phase {
                case .queued:
                    session.queue.append(delivery)
                case .awaitingAck, .awaitingComplete:
                    guard let id = persistedMessage.packetID, session.inflight[id] == nil else {
                        session.queue.append(delivery)
                        continue
                    }
                    session.inflight[id] = Session.Inflight(
                        delivery: delivery,
                        phase: persistedMessage.phase == .awaitingAck ? .awaitingAck : .awaitingComplete
                    )
                }
            }
            session.incomingQoS2 = Set(persisted.incomingQoS2PacketIDs)
            session.disconnectedAt = now
            // Permissions may have changed while the node was down; checked again at reconnect.
            if let owner = session.owner { core.recheckSubscriptions(of: session, for: owner) }
            core.sessions[persisted.clientID] = session
            core.journal?.storedSessions.insert(persisted.clientID)
            core.scheduleExpiry(session)
        }
    }
}
