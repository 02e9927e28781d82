import Synchronization

/// The last time a runner's periodic loop went round, for `/health`: a loop that stops beating
/// (stuck in a call, or ended) is stale after a few of its intervals.
///
/// Written by the runner once per round (one atomic store), read by the health check.
public final class Heartbeat: Sendable {
    /// How often the runner beats when it is well.
    public let interval: Duration
    private let last = Atomic<Int64>(.min)
    private let count = Atomic<Int>(0)

    /// - Parameter interval: the runner's loop interval.
    public init(interval: Duration) {
        self.interval = interval
    }

    /// Records a beat at `time` (ms since the epoch, from the node's clock).
    public func beat(at time: Int64) {
        last.store(time, ordering: .relaxed)
        count.add(1, ordering: .relaxed)
    }

    /// When the runner last beat (ms since the epoch), or nil before its first beat.
    public var lastBeat: Int64? {
        let value = last.load(ordering: .relaxed)
        return value == .min ? nil : value
    }

    /// Beats since start.
    public var beats: Int { count.load(ordering: .relaxed) }
}
