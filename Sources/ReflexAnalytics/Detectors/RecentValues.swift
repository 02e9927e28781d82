/// The last few hundred raw values of a series, to tell a new event from a repeat of a recent one.
///
/// ``recurrence(length:minimumAge:centre:)`` compares the latest `length` values with every
/// earlier stretch of the same length that ended at least `minimumAge` samples ago (so that
/// the current event cannot match its own beginning) and returns the distance to the nearest
/// one, relative to the latest stretch's own distance from `centre`. Near 0 means the signal
/// has just done exactly this before (a periodic burst, a test pattern); near 1 or above means
/// nothing recent looks like it. A stretch whose deviation is mostly a common offset (a level
/// shift, a flat line) has no shape to repeat and gets no answer: an ongoing change must not be
/// mistaken for a repeat of its own beginning.
///
/// - Complexity: O(1) to append; O(`capacity` · `length`) for a recurrence query, which the
///   detector asks only when it is about to raise an alarm. `capacity` doubles of heap.
/// - Source: the nearest-neighbour non-conformity measure over lagged windows of KNN-CAD,
///   E. Burnaev and V. Ishimtsev, "Conformalized density- and distance-based anomaly detection
///   in time-series data", arXiv:1608.04585, 2016; excluding overlapping ("trivial") matches
///   follows the matrix profile, C.-C. M. Yeh et al., "Matrix Profile I: all pairs similarity
///   joins for time series", IEEE ICDM 2016.
struct RecentValues: Sendable, Hashable, Codable {
    private var values: [Double]
    private var head = 0
    private var count = 0

    init(capacity: Int) {
        self.values = Array(repeating: 0, count: max(1, capacity))
    }

    /// Bytes of heap the ring owns.
    var heapBytes: Int { values.capacity * MemoryLayout<Double>.stride }

    mutating func append(_ value: Double) {
        values[head] = value
        head = head + 1 == values.count ? 0 : head + 1
        count = min(count + 1, values.count)
    }

    /// The value appended `age` samples before the latest one (age 0 is the latest).
    private func value(age: Int) -> Double {
        let index = head - 1 - age
        return values[index >= 0 ? index : index + values.count]
    }

    /// The distance from the latest `length` values to the nearest earlier stretch that ended at
    /// least `minimumAge` samples ago, divided by the latest stretch's distance from `centre`;
    /// nil while the ring holds no such stretch, or when the latest stretch is mostly an offset
    /// from `centre` rather than a shape.
    func recurrence(length: Int, minimumAge: Int, centre: Double) -> Double? {
        let youngest = max(length, minimumAge)
        let oldest = count - length
        guard length > 0, oldest >= youngest else { return nil }
        var sum = 0.0
        var spread = 0.0
        for offset in 0..<length {
            let difference = value(age: offset) - centre
            sum += difference
            spread += difference * difference
        }
        // Only a shape can recur: if most of the stretch's deviation is a common offset (a level
        // shift, a flat line away from the usual level), it is an ongoing change, not a repeat.
        let shape = spread - sum * sum / Double(length)
        guard spread > 0, spread.isFinite, shape >= 0.5 * spread else { return nil }
        var nearest = Double.infinity
        for age in youngest...oldest {
            var distance = 0.0
            for offset in 0..<length {
                let difference = value(age: offset) - value(age: age + offset)
                distance += difference * difference
                if distance >= nearest { break }
            }
            nearest = min(nearest, distance)
        }
        return (nearest / spread).squareRoot()
    }
}
