/// Where live detection is in the commit log, and what to do with the next live entry.
///
/// ``position`` is the sequence number of the last commit-log entry scored (or deliberately
/// passed over, see ``advance(to:)``): every entry up to it has been through the detectors once,
/// none after it. Checkpointed with the detector states, it makes the log replay after a restart
/// exact, and it dedupes the live feed against what catch-up already read from the store.
struct DetectionCursor: Sendable, Hashable {
    /// What to do with a live entry.
    enum Step: Sendable, Hashable {
        /// Already scored (read by catch-up, or delivered twice): skip it.
        case duplicate
        /// The next entry: score it.
        case next
        /// Entries `after + 1 ... through` are missing from the live feed: read them from the
        /// log first, then score this one.
        case gap(after: Int64, through: Int64)
    }

    /// The last entry scored; 0 before the first.
    private(set) var position: Int64

    init(position: Int64 = 0) {
        self.position = max(0, position)
    }

    /// What to do with the live entry numbered `sequence`.
    func step(for sequence: Int64) -> Step {
        if sequence <= position { return .duplicate }
        if sequence == position + 1 { return .next }
        return .gap(after: position, through: sequence - 1)
    }

    /// Whether the entry numbered `sequence` is still to be scored.
    func isPending(_ sequence: Int64) -> Bool { sequence > position }

    /// Moves past `sequence` (never back).
    mutating func advance(to sequence: Int64) {
        position = max(position, sequence)
    }

    /// How many entries are committed but not scored, given the newest committed one.
    func behind(lastCommitted: Int64) -> Int64 { max(0, lastCommitted - position) }
}
