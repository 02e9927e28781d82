import Synchronization

/// Hands committed commit-log entries to one consumer in memory, through a bounded queue.
///
/// The group writer ``offer(_:)``s each group's entries after the commit, in commit order, and
/// wakes the consumer. An entry that finds the queue full is not queued; it is counted
/// (``droppedCount``) and stays in the commit log, where the consumer reads it back when it
/// sees the gap in the sequence numbers (or that ``SQLiteSampleStore/lastCommittedSequence``
/// is ahead once the queue is empty). The queue is only the fast path: the log is the truth.
///
/// ```swift
/// let feed = store.commitFeed(bufferSize: 100_000)   // before the writer starts
/// for await _ in feed.wakeups {
///     for entry in feed.take() { ... }                // oldest first
/// }
/// ```
public final class CommitFeed: Sendable {
    private struct State {
        var entries: [CommittedBatch] = []
        var dropped = 0
        var isFinished = false
    }

    /// How many entries may wait in memory.
    public let capacity: Int
    /// Yields (at most one pending wake-up) whenever entries were offered, queued or not.
    public let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let state = Mutex(State())

    /// A feed holding at most `capacity` entries (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues what fits of `entries` (oldest first), counts the rest, runs `beforeWake`, then
    /// wakes the consumer.
    ///
    /// The store publishes its newest sequence number in `beforeWake`: a consumer that reads
    /// that number *before* ``take()`` then knows every entry up to it is either in what it
    /// takes or was dropped, so it never reads from the store an entry still on its way here.
    public func offer(_ entries: [CommittedBatch], beforeWake: () -> Void = {}) {
        guard !entries.isEmpty else { return }
        let queued = state.withLock { state -> Bool in
            guard !state.isFinished else { return false }
            let room = max(0, capacity - state.entries.count)
            state.entries += entries.prefix(room)
            state.dropped += max(0, entries.count - room)
            return true
        }
        beforeWake()
        if queued { wake.yield() }
    }

    /// Everything queued, oldest first, leaving the queue empty.
    public func take() -> [CommittedBatch] {
        state.withLock { state in
            defer { state.entries = [] }
            return state.entries
        }
    }

    /// Entries that found the queue full, since start.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Ends ``wakeups``; later offers are ignored.
    public func finish() {
        state.withLock { $0.isFinished = true }
        wake.finish()
    }
}
