/// The largest recent excursion of a series from its usual level, in the series' own units.
///
/// The deviation channels measure everything in robust standard deviations, which is what
/// makes them comparable across series, but it has one blind spot: when a series sits flat for
/// a long time (a disk that writes nothing, a valve that stays shut), its spread shrinks towards
/// zero, so the first bursts off that flat line measure thousands of σ and set records that a
/// later, much bigger burst (in bytes, in bar) never reaches once the spread has grown. The
/// excursion record keeps the same "more extreme than anything lately" test in raw units:
/// ``observe(_:margin:decay:)`` compares |value − usual level| with the decayed maximum of
/// earlier excursions, so "twice as far out as any excursion this month" is seen whatever the
/// spread did in between.
///
/// - Complexity: O(1) per sample; 8 bytes of state.
/// - Source: the record (running maximum) of a series as a threshold for novelty, as in
///   ``DeviationChannel``; records of observations, B. C. Arnold, N. Balakrishnan and
///   H. N. Nagaraja, "Records", Wiley 1998, ch. 2.
struct ExcursionRecord: Sendable, Hashable, Codable {
    /// The decayed maximum of earlier excursions, in the series' units.
    private(set) var record: Double = 0

    /// How far `excursion` goes beyond `margin` times the record (1 means exactly at it; 0
    /// while nothing has been recorded), then learns it.
    ///
    /// - Parameters:
    ///   - excursion: the absolute distance of the value from the usual level.
    ///   - margin: how much bigger than the record an excursion must be to count as new.
    ///   - decay: the factor applied to the record before comparing it with this excursion.
    mutating func observe(_ excursion: Double, margin: Double, decay: Double) -> Double {
        let ratio = record > 0 ? excursion / (margin * record) : 0
        record = max(record * decay, excursion)
        return ratio
    }
}
