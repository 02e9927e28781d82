import Foundation

/// A node's one source of time: the wall clock that stamps samples, alarms and checkpoints, and
/// the monotonic clock that paces every periodic task (ticks, polls, retention, checkpoints).
///
/// Components take a `NodeClock` (or its two parts) instead of reading the system time, so
/// that a test drives time (``manual(_:startingAt:)`` over a manual `Clock`) instead of sleeping.
///
/// ```swift
/// let node = Node(configuration: configuration, logger: logger, clock: .system)
/// ```
public struct NodeClock: Sendable {
    /// Wall-clock time in milliseconds since the Unix epoch.
    public let now: @Sendable () -> Int64
    /// The clock every periodic task sleeps on.
    public let monotonic: any Clock<Duration>

    /// - Parameters:
    ///   - now: wall-clock time in ms since the Unix epoch.
    ///   - monotonic: the clock periodic tasks sleep on.
    public init(now: @escaping @Sendable () -> Int64, monotonic: any Clock<Duration>) {
        self.now = now
        self.monotonic = monotonic
    }

    /// The system's clocks: `Date()` for the wall clock and `ContinuousClock` for sleeping.
    public static let system = NodeClock(now: { systemMilliseconds() }, monotonic: ContinuousClock())

    /// A clock whose wall time is `start` plus the time `clock` has advanced, so both move
    /// together under a test's control (for example a `ManualClock`).
    public static func manual<C: Clock>(_ clock: C, startingAt start: Int64) -> NodeClock
    where C.Duration == Duration {
        let origin = clock.now
        return NodeClock(
            now: {
                let elapsed = origin.duration(to: clock.now).components
                return start + elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
            },
            monotonic: clock
        )
    }

    /// Suspends for `duration` on the monotonic clock.
    /// - Throws: `CancellationError` if the task is cancelled first.
    public func sleep(for duration: Duration) async throws {
        try await monotonic.sleep(for: duration)
    }

    /// The system's wall-clock time in ms since the Unix epoch: the one place it is read.
    public static func systemMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
