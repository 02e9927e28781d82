import Synchronization

/// The in-process ``EventChannel``: hands every published value to each current subscriber,
/// through one bounded buffer per subscriber.
///
/// `publish(_:)` never blocks and never waits for a subscriber: a subscriber that falls more than
/// its buffer behind loses the newest values, and each loss is counted (``droppedCount``). The
/// stages that consume a broadcast (detection, automation, the live dashboard feed) are orders of
/// magnitude faster than ingest, so a drop means something is wrong, and it is visible.
///
/// ```swift
/// let telemetry = Broadcast<TelemetryBatch>()
/// let batches = telemetry.subscribe(bufferSize: 10_000)   // before the producers start
/// telemetry.publish(batch)
/// for await batch in batches { ... }
/// ```
public final class Broadcast<Element: Sendable>: EventChannel {
    private struct State {
        var nextID = 0
        var subscribers: [Int: AsyncStream<Element>.Continuation] = [:]
        var dropped = 0
        var isFinished = false
    }

    private let state = Mutex(State())

    public init() {}

    /// A new stream of every value published from now on, buffering at most `bufferSize` of them.
    /// The stream ends when the subscriber stops iterating or ``finish()`` is called.
    public func subscribe(bufferSize: Int) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Element.self,
            bufferingPolicy: .bufferingOldest(max(1, bufferSize))
        )
        let id: Int? = state.withLock { state in
            guard !state.isFinished else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Offers `value` to every subscriber; counts a drop for each one whose buffer is full.
    ///
    /// The values are yielded outside the lock: yielding may resume a waiting subscriber, which
    /// takes that task's own lock, while a subscriber being cancelled holds its task's lock and
    /// needs ours to unsubscribe (`onTermination`). Holding both in opposite orders deadlocked the
    /// node when a dashboard client went away while telemetry flowed.
    public func publish(_ value: Element) {
        let continuations = state.withLock { Array($0.subscribers.values) }
        var dropped = 0
        for continuation in continuations {
            if case .dropped = continuation.yield(value) {
                dropped += 1
            }
        }
        if dropped > 0 {
            state.withLock { $0.dropped += dropped }
        }
    }

    /// Ends every subscriber's stream (after it has drained its buffer); later subscribers get a
    /// finished stream.
    public func finish() {
        let continuations = state.withLock { state in
            state.isFinished = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for continuation in continuations { continuation.finish() }
    }

    /// Values that some subscriber lost because its buffer was full, since start.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// How many subscribers are listening.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}
