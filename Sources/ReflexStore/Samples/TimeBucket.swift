/// Epoch-aligned time buckets in milliseconds, with floor division so that timestamps before
/// 1970 fall into the right bucket too.
enum TimeBucket {
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000

    /// The start of the `width`-wide bucket that holds `timestamp`.
    /// - Complexity: O(1).
    @inline(__always)
    static func start(of timestamp: Int64, width: Int64) -> Int64 {
        let remainder = timestamp % width
        // Wrapping arithmetic: stored timestamps are validated, so this never wraps for them.
        return remainder < 0 ? timestamp &- remainder &- width : timestamp &- remainder
    }

    /// The timestamps the store accepts: years 1 to 9999, so bucket arithmetic cannot overflow.
    static let validTimestamps: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// Whole milliseconds in `duration` (sub-millisecond parts are dropped).
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
