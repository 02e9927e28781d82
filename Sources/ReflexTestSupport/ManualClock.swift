import Synchronization

/// A clock for tests: time moves only when the test calls ``advance(by:)``.
public final class ManualClock: Sendable {
    private let nowStorage = Mutex<Duration>(.zero)
    public init() {}
    /// The time elapsed since the clock was created.
    public var now: Duration { nowStorage.withLock { $0 } }
    /// Moves time forward.
    public func advance(by duration: Duration) { nowStorage.withLock { $0 += duration } }
}
