import NIOCore

/// The broker's write-ahead path to its ``SessionStore``: changes recorded on the event loop,
/// written in batches, one batch at a time, in the order they were recorded (group commit).
///
/// While a batch is being written, new changes and the promises of the acknowledgements that
/// wait for them collect; when the write completes, everything collected goes out as the next
/// batch. One commit therefore serves every PUBLISH that arrived during the previous one, so
/// under load the cost per message is a fraction of an fsync, and an idle broker writes at once.
///
/// Confined to the broker's event loop, like ``BrokerCore`` (which drives it): that confinement
/// is what makes the `@unchecked Sendable` conformance safe.
final class BrokerJournal: @unchecked Sendable {
    /// Writes one batch; the future completes on any loop once it is durable (or failed).
    typealias Writer = @Sendable (BrokerStateBatch, any EventLoop) -> EventLoopFuture<Void>

    let write: Writer
    /// Changes recorded since the last batch was taken, in order.
    private(set) var changes: [SessionChange] = []
    /// Acknowledgements waiting for the changes recorded so far.
    private(set) var waiters: [EventLoopPromise<Void>] = []
    /// Whether a batch is being written now.
    var isWriting = false
    /// Whether a write is scheduled for the end of this loop tick.
    var isScheduled = false
    /// The next ``Delivery/sequence``.
    private(set) var nextSequence: Int64 = 1
    /// Clients whose session record may be in the store (restored, or written since).
    var storedSessions: Set<String> = []

    /// Batches written and failed, changes written: shown in `$SYS`/stats.
    private(set) var commits: Int64 = 0
    private(set) var failedCommits: Int64 = 0
    private(set) var changesWritten: Int64 = 0

    /// Writes batches with `store.apply(_:)`.
    convenience init(store: any SessionStore) {
        self.init { batch, loop in loop.makeFutureWithTask { try await store.apply(batch) } }
    }

    /// Writes batches with `write` (tests complete them by hand).
    init(write: @escaping Writer) {
        self.write = write
    }

    /// Whether anything waits to be written.
    var hasPendingChanges: Bool { !changes.isEmpty }

    /// Records a change for the next batch.
    func record(_ change: SessionChange) {
        changes.append(change)
    }

    /// A new sequence number for a message routed to a persistent session.
    func allocateSequence() -> Int64 {
        defer { nextSequence += 1 }
        return nextSequence
    }

    /// Makes later sequence numbers greater than `sequence` (after a restore).
    func observeSequence(_ sequence: Int64) {
        if sequence >= nextSequence { nextSequence = sequence + 1 }
    }

    /// Adds an acknowledgement that waits for the next batch.
    func addWaiter(_ promise: EventLoopPromise<Void>) {
        waiters.append(promise)
    }

    /// Takes the changes and waiters for one write.
    func take() -> (changes: [SessionChange], waiters: [EventLoopPromise<Void>]) {
        defer {
            changes = []
            waiters = []
        }
        return (changes, waiters)
    }

    /// Counts a finished write.
    func recordOutcome(changes count: Int, succeeded: Bool) {
        if succeeded {
            commits += 1
            changesWritten += Int64(count)
        } else {
            failedCommits += 1
        }
    }
}
