/// How far live detection is behind what the store committed, for the stats route and `/health`.
///
/// Counted in commit-log entries (one per committed telemetry batch) and in time: while entries
/// wait, ``secondsBehind`` is how long ago the newest scored entry was committed (or, before the
/// first one, since the service started), which is at least the true wait of the oldest entry
/// not yet scored, and about equal to it under load.
public struct DetectionLag: Sendable, Hashable {
    /// The last commit-log entry scored.
    public var cursor: Int64
    /// The newest committed commit-log entry.
    public var lastCommitted: Int64
    /// Entries committed but not scored yet.
    public var batchesBehind: Int64 { max(0, lastCommitted - cursor) }
    /// 0 when nothing waits; see the type's documentation.
    public var secondsBehind: Double
    /// Whether detection is reading the commit log from the store now.
    public var isCatchingUp: Bool

    /// Creates a lag figure.
    public init(cursor: Int64, lastCommitted: Int64, secondsBehind: Double, isCatchingUp: Bool) {
        self.cursor = cursor
        self.lastCommitted = lastCommitted
        self.secondsBehind = secondsBehind
        self.isCatchingUp = isCatchingUp
    }

    /// Why detection counts as degraded under `limit` (``DetectionConfiguration/maxLag``), or nil.
    public func degradation(limit: Duration) -> String? {
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        guard batchesBehind > 0, secondsBehind > seconds else { return nil }
        return "scoring is \(Int(secondsBehind)) s (\(batchesBehind) batches) behind ingest; "
            + "the limit is detection.maxLag \(Int(seconds)) s"
            + (isCatchingUp ? "; catching up from the store" : "")
    }
}
