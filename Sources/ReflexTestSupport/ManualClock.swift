import Synchronization

/// A `Clock` for tests: time moves only when the test calls ``advance(by:)``.
///
/// Code under test takes `any Clock<Duration>` (or a generic `Clock`) and sleeps on it; the test
/// waits until the code is asleep (``sleepers``, ``nextDeadline``), advances the clock, and every
/// sleeper whose deadline has come is woken, in deadline order. Nothing depends on real time, so
/// a slow machine cannot make such a test fail.
///
/// ```swift
/// let clock = ManualClock()
/// let client = MQTTClient(configuration: configuration, clock: clock, logger: logger)
/// // ... once the client sleeps for its keep-alive interval:
/// clock.advance(by: .seconds(10))
/// ```
///
/// Sleeping is cancellable: a cancelled sleeper throws `CancellationError` at once, as
/// `ContinuousClock` does.
public final class ManualClock: Clock, Sendable {
    /// A point on the manual clock's time line: the time advanced since the clock was created.
    public struct Instant: InstantProtocol, Sendable, Hashable, Comparable {
        /// Time since the clock was created.
        public var offset: Swift.Duration

        /// - Parameter offset: time since the clock was created.
        public init(offset: Swift.Duration) { self.offset = offset }

        public func advanced(by duration: Swift.Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Swift.Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
        /// Sleeps cancelled before their continuation was stored.
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// The current instant; moves only through ``advance(by:)``.
    public var now: Instant { state.withLock { $0.now } }

    /// The time advanced since the clock was created.
    public var elapsed: Swift.Duration { now.offset }

    public var minimumResolution: Swift.Duration { .nanoseconds(1) }

    /// How many tasks are sleeping on the clock right now.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    /// The earliest deadline of the tasks sleeping now, or nil if none sleeps.
    public var nextDeadline: Instant? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    /// Suspends until the clock has been advanced to `deadline` (returns at once if it has).
    /// - Throws: `CancellationError` if the task is cancelled first.
    public func sleep(until deadline: Instant, tolerance: Swift.Duration? = nil) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        // A sleep that ended normally may have left its id behind if cancellation raced it.
        state.withLock { _ = $0.cancelled.remove(id) }
    }

    /// Moves time forward by `duration` and wakes every sleeper whose deadline has come.
    public func advance(by duration: Swift.Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
