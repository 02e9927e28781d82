import Foundation
import Logging
import NIOCore
import OrderedCollections

/// Durable broker state: what an acknowledgement promises (see docs/mqtt.md, "Durability").
///
/// Every QoS 1/2 copy of a message routed to a persistent session, online or offline, is
/// recorded in the ``BrokerJournal`` as it is routed, and the retained message a PUBLISH sets is
/// marked in ``retainedChanges``. The PUBACK/PUBREC of that PUBLISH waits for
/// ``commitDurably()``: one group-committed write of everything recorded so far. Online copies
/// count too: a persistent subscriber that is connected at a crash reconnects after the restart
/// and must get its unacknowledged QoS 1/2 messages again (MQTT 3.1.1 §4.4, 5.0 §4.4), so they
/// are as durable as the offline queue. Acknowledgements from subscribers remove messages
/// lazily: the removal rides along with the next write, and the periodic full save repairs
/// anything a lazy change missed.
extension BrokerCore {
    /// Records a QoS 1/2 delivery just queued or sent to a persistent session.
    func recordQueued(_ delivery: inout Delivery, for session: Session, packetID: UInt16?) {
        guard let journal, session.isPersistent, delivery.qos != .atMostOnce else { return }
        let now = eventLoop.now
        let wallNow = Date()
        if !journal.storedSessions.contains(session.clientID) {
            journal.record(.upsertSession(BrokerSnapshot.persist(session, now: now, wallNow: wallNow, messages: false)))
            journal.storedSessions.insert(session.clientID)
        }
        durableChangeCount &+= 1
        let sequence = journal.allocateSequence()
        delivery.sequence = sequence
        journal.record(
            .appendMessage(
                clientID: session.clientID,
                message: BrokerSnapshot.persist(
                    delivery,
                    packetID: packetID,
                    phase: packetID == nil ? .queued : .awaitingAck,
                    now: now,
                    wallNow: wallNow
                )
            )
        )
    }

    /// Records that a stored delivery left the session (acknowledged, refused or expired).
    func recordRemoved(_ delivery: Delivery, from session: Session) {
        guard let journal, let sequence = delivery.sequence else { return }
        journal.record(.removeMessage(clientID: session.clientID, sequence: sequence))
        writeIfMany(journal)
    }

    /// Lazy changes wait for the next write; this many are written on their own, so they stay
    /// bounded even with the periodic save turned off.
    static let lazyChangeLimit = 4096

    private func writeIfMany(_ journal: BrokerJournal) {
        if journal.changes.count >= Self.lazyChangeLimit { _ = commitDurably() }
    }

    /// Records a stored delivery's new phase (sent with `packetID`, or PUBREC received).
    func recordPhase(_ delivery: Delivery, of session: Session, phase: PersistedMessage.Phase, packetID: UInt16) {
        guard let journal, let sequence = delivery.sequence else { return }
        journal.record(.updateMessage(clientID: session.clientID, sequence: sequence, phase: phase, packetID: packetID))
        writeIfMany(journal)
    }

    /// Records the current record of a persistent session (subscriptions, incoming QoS 2 ids).
    func recordSession(_ session: Session) {
        guard let journal, session.isPersistent else { return }
        journal.record(
            .upsertSession(BrokerSnapshot.persist(session, now: eventLoop.now, wallNow: Date(), messages: false))
        )
        journal.storedSessions.insert(session.clientID)
        durableChangeCount &+= 1
    }

    /// Records that a session ended, if the store may hold it.
    func recordEnded(_ session: Session) {
        guard let journal, journal.storedSessions.remove(session.clientID) != nil else { return }
        journal.record(.removeSession(clientID: session.clientID))
    }

    /// A future that succeeds once everything recorded so far (session changes and retained
    /// changes) is durable, or fails if that write failed. Without a store it succeeds at once.
    /// Writes are group-committed: one batch at a time, started at the end of this loop tick.
    func commitDurably() -> EventLoopFuture<Void> {
        guard let journal else { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        journal.addWaiter(promise)
        scheduleJournalWrite()
        return promise.futureResult
    }

    private func scheduleJournalWrite() {
        guard let journal, !journal.isWriting, !journal.isScheduled else { return }
        journal.isScheduled = true
        // At the end of the tick: the PUBLISHes read together from the sockets share one write.
        eventLoop.execute { self.writeJournalBatch() }
    }

    private func writeJournalBatch() {
        guard let journal else { return }
        journal.isScheduled = false
        guard !journal.isWriting else { return }
        let (changes, waiters) = journal.take()
        let retained = BrokerSnapshot.retainedChanges(of: self)
        let retainedTopics = Array(retainedChanges)
        retainedChanges.removeAll()
        let batch = BrokerStateBatch(sessionChanges: changes, retained: retained)
        if batch.isEmpty {
            for waiter in waiters { waiter.succeed() }
            return
        }
        journal.isWriting = true
        let loop = eventLoop
        journal.write(batch, loop).hop(to: loop).whenComplete { result in
            journal.isWriting = false
            switch result {
            case .success:
                journal.recordOutcome(changes: changes.count + retainedTopics.count, succeeded: true)
                for waiter in waiters { waiter.succeed() }
            case .failure(let error):
                journal.recordOutcome(changes: changes.count, succeeded: false)
                self.logger.error(
                    "Saving MQTT state failed; the acknowledgements that waited for it are refused",
                    metadata: [
                        "error": "\(error)", "mqtt.changes": "\(changes.count)",
                        "mqtt.waiting": "\(waiters.count)",
                    ]
                )
                // Written again: the next full save rewrites every session, the retained
                // topics are marked changed again.
                if !changes.isEmpty { self.isDirty = true }
                // Records in the failed batch may be missing: the next appends write theirs again.
                journal.storedSessions.removeAll()
                for topic in retainedTopics { self.retainedChanges.append(topic) }
                for waiter in waiters { waiter.fail(error) }
            }
            if !journal.waiters.isEmpty { self.scheduleJournalWrite() }
        }
    }

    /// Records a full save (every persistent session, when they changed) and writes it with
    /// everything else pending, in order after the writes before it.
    func commitFullSave() -> EventLoopFuture<Void> {
        if isDirty, let journal {
            let sessions = BrokerSnapshot.persistSessions(of: self, now: eventLoop.now, wallNow: Date())
            journal.record(.replaceAll(sessions))
            journal.storedSessions = Set(sessions.map(\.clientID))
            isDirty = false
        }
        return commitDurably()
    }
}
