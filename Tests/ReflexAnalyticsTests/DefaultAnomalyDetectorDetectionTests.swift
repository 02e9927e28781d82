import Foundation
import ReflexAnalytics
import ReflexCore
import Testing

/// Each synthetic change must raise a score >= 0.5 within its expected delay, and not before.
@Suite struct DefaultAnomalyDetectorDetectionTests {
    static let changeRow = 3000
    static let rows = 3600
    /// Rows before the change that must stay below 0.5 (the record-based scoring may still raise
    /// a rare alarm on pure noise early in a series' life; see `quietSignal`).
    static let quietRows = 50

    struct Case: Sendable, CustomStringConvertible {
        var description: String
        /// The components that may fire (the seasonal residual often sees a change first).
        var components: Set<String>
        /// At most this many rows after the change.
        var maximumDelay: Int
        var change: @Sendable (Int, Double) -> Double
    }

    static let cases: [Case] = [
        Case(description: "spike", components: ["spike", "seasonal-spike", "seasonal"], maximumDelay: 0) { row, value in
            row == changeRow ? value + 3 : value
        },
        Case(description: "level shift", components: ["level", "seasonal", "seasonal-spike"], maximumDelay: 5) {
            row,
            value in
            row >= changeRow ? value + 1.5 : value
        },
        Case(
            description: "variance change",
            components: ["variance", "burst", "seasonal", "seasonal-spike"],
            maximumDelay: 200
        ) { row, value in
            row >= changeRow ? value + 0.6 * sin(Double(row) * 2.1) : value
        },
        Case(description: "trend", components: ["drift", "level", "seasonal", "seasonal-spike"], maximumDelay: 150) {
            row,
            value in
            row >= changeRow ? value + 0.01 * Double(row - changeRow) : value
        },
        Case(
            description: "seasonal break (wave shifted by half a day)",
            components: ["seasonal", "seasonal-spike"],
            maximumDelay: 60
        ) {
            row,
            value in
            row >= changeRow ? 20 - value : value
        },
        Case(description: "flatline", components: ["variance", "seasonal", "seasonal-spike"], maximumDelay: 150) {
            row,
            value in
            row >= changeRow ? 10 : value
        },
        Case(
            description: "flatline away from the mean (not a repeat of itself)",
            components: ["variance", "seasonal", "seasonal-spike"],
            maximumDelay: 150
        ) {
            row,
            value in
            row >= changeRow ? 10.7 : value
        },
    ]

    @Test("a change is detected within its delay and not before", arguments: cases)
    func detection(_ testCase: Case) throws {
        var detector = DefaultAnomalyDetector()
        var firstAlarm: Int?
        var firingComponent = ""
        for (row, sample) in SyntheticSignal().values(count: Self.rows, change: testCase.change).enumerated() {
            let verdict = detector.observe(sample.1, at: sample.0)
            if row >= Self.changeRow - Self.quietRows, verdict.score >= 0.5, firstAlarm == nil {
                firstAlarm = row
                firingComponent = verdict.explanation.component
            }
        }
        let alarm = try #require(firstAlarm, "no alarm for \(testCase)")
        #expect(alarm >= Self.changeRow, "alarm before the change, at row \(alarm) (\(firingComponent))")
        #expect(alarm - Self.changeRow <= testCase.maximumDelay, "detected after \(alarm - Self.changeRow) rows")
        #expect(testCase.components.contains(firingComponent), "fired: \(firingComponent)")
    }

    @Test("an oscillation inside the normal range is seen by the burst channel within a few samples")
    func oscillation() {
        var detector = DefaultAnomalyDetector()
        var alarms: [(row: Int, component: String)] = []
        // ±3 σ of the noise, alternating: no single value is unusual, the steps are.
        let change: @Sendable (Int, Double) -> Double = { row, value in
            row >= Self.changeRow ? value + (row % 2 == 0 ? 0.3 : -0.3) : value
        }
        for (row, sample) in SyntheticSignal().values(count: Self.changeRow + 100, change: change).enumerated() {
            let verdict = detector.observe(sample.1, at: sample.0)
            if row >= Self.changeRow - Self.quietRows, verdict.score >= 0.5 {
                alarms.append((row, verdict.explanation.component))
            }
        }
        let first = alarms.first
        #expect(first?.row ?? -1 >= Self.changeRow)
        #expect(first?.row ?? .max <= Self.changeRow + 5, "first alarm: \(String(describing: first))")
        #expect(first?.component == "burst")
    }

    @Test("a burst far bigger in raw units than any before is seen after a long flat stretch")
    func rangeExpansion() {
        // Like a disk that mostly writes nothing: 10-row bursts of ~1.9e8 every 300 rows, then
        // one burst of 4.5e8. In robust σ every burst off the flat line is enormous, so only
        // the raw-unit range test tells the bigger one apart.
        var detector = DefaultAnomalyDetector()
        var random = SplitMix64(seed: 5)
        var alarms: [(row: Int, component: String)] = []
        for row in 0..<3000 {
            var value = 0.0
            if row >= 400 && row % 300 < 10 { value = 1.9e8 * (1 + 0.1 * random.gaussian()) }
            if row >= 2600 && row < 2610 { value = 4.5e8 * (1 + 0.1 * random.gaussian()) }
            let timestamp = SyntheticSignal.start + Int64(row) * SyntheticSignal.stepMillis
            let verdict = detector.observe(value, at: timestamp)
            if row >= 700, verdict.score >= 0.5 { alarms.append((row, verdict.explanation.component)) }
        }
        #expect(alarms.count == 1, "alarms: \(alarms)")
        #expect(alarms.first?.row == 2600)
        #expect(alarms.first?.component == "range")
    }

    /// The false-alarm budget, from the detector's calibration (docs/detection.md), not from a run.
    ///
    /// A healthy sample alarms only when one of the 6 alarm channels sets a new record: its |z|
    /// must reach both the channel's (decayed) record and the floor of 3.75 robust σ. For a
    /// stationary input, the chance that sample k is the largest of the first k is 1/k, so a
    /// channel sets about ln(b/a) records between samples a and b. The floor hides the records
    /// of the first ~1/P(|Z| ≥ 3.75) = 1/1.77e-4 ≈ 5 650 samples (they are under 3.75 σ). So
    /// a 20 000-sample series has ≈ 6 · ln(20 000 / 5 650) ≈ 7.6 false alarms, about 3.9 per
    /// 10 000 samples; suppression and the recurrence veto only remove alarms.
    ///
    /// Over 8 seeds that is 60.7 expected; the bound is the Poisson 99.9 % quantile, 86
    /// (≈ 5.5 per 10 000 samples). A detector twice as trigger-happy fails. (Checked against
    /// seeds 1–20 on 2026-12-07: 134 alarms, 6.7 per seed, 3.4 per 10 000 samples.)
    @Test("pure noise on a daily wave: false alarms stay within the record budget (~4 per 10 000 samples)")
    func quietSignal() {
        let seeds: ClosedRange<UInt64> = 1...8
        let budget = 86
        var alarms: [UInt64: Int] = [:]
        for seed in seeds {
            var detector = DefaultAnomalyDetector()
            for (row, sample) in SyntheticSignal(seed: seed).values(count: 20_000).enumerated() {
                let score = detector.observe(sample.1, at: sample.0).score
                if row >= 288, score >= 0.5 { alarms[seed, default: 0] += 1 }
            }
        }
        let total = alarms.values.reduce(0, +)
        #expect(total <= budget, "\(total) alarms over \(seeds.count) seeds of 19 712 healthy samples: \(alarms)")
    }

    @Test("at 1 Hz a healthy signal stays quiet: the profile learns per day and records remember a week")
    func fastSampling() {
        // Three days at one sample a second: a daily wave of ±5, noise σ 0.1, a slow wander.
        var random = SplitMix64(seed: 11)
        var detector = DefaultAnomalyDetector()
        var wander = 0.0
        var alarms = 0
        let day = 86_400
        for second in 0..<(3 * day) {
            wander += 0.002 * random.gaussian()
            let phase = Double(second % day) / Double(day) * 2 * Double.pi
            let value = 60 + 5 * sin(phase) + wander + 0.1 * random.gaussian()
            let score = detector.observe(value, at: SyntheticSignal.start + Int64(second) * 1000).score
            if second >= day, score >= 0.5 { alarms += 1 }
        }
        // The budget, from the calibration (see `quietSignal`): a false alarm is a new record of
        // one of the 6 alarm channels. Records are kept for a week of samples here, so after
        // the first day (86 400 samples, far past the 3.75 σ floor's ~5 650) each channel sets
        // about ln(3 days / 1 day) = 1.1 records in the two days counted: 6 · ln 3 ≈ 6.6
        // expected. The bound is the Poisson 99.9 % quantile of 6.6, 16. The two failures this
        // test exists for are far above it: the profile learning 0.2 per sample (a few seconds
        // of memory) gave 94, records forgetting after 10 000 samples (under 3 hours here) 31.
        // (Checked on 2026-12-07 with six noise seeds: 11, 5, 8, 5, 3, 6, mean 6.3.)
        #expect(alarms <= 16, "\(alarms) alarms in two days")
    }

    @Test("the explanation names the expected band around a spike")
    func explanation() {
        var detector = DefaultAnomalyDetector()
        var last: AnomalyScore?
        for sample in SyntheticSignal().values(count: 2001, change: { $0 == 2000 ? $1 + 5 : $1 }) {
            last = detector.observe(sample.1, at: sample.0)
        }
        guard let verdict = last else { return }
        #expect(verdict.score > 0.9)
        #expect(["seasonal-spike", "range"].contains(verdict.explanation.component))
        #expect(verdict.explanation.deviation > 3.75)
        let expected = verdict.explanation.expected ?? .nan
        #expect(abs(expected - 10) < 1)
        #expect((verdict.explanation.upper ?? .infinity) < 15)
        #expect((verdict.explanation.lower ?? .infinity) < expected)
    }

    @Test("the expected band follows the daily wave smoothly, whichever component wins")
    func stableBand() {
        var detector = DefaultAnomalyDetector()
        var previous: Double?
        var largestJump = 0.0
        var farthestFromWave = 0.0
        for (row, sample) in SyntheticSignal().values(count: 3 * SyntheticSignal.rowsPerDay).enumerated() {
            let verdict = detector.observe(sample.1, at: sample.0)
            guard row >= SyntheticSignal.rowsPerDay, let expected = verdict.explanation.expected else { continue }
            if let previous { largestJump = max(largestJump, abs(expected - previous)) }
            previous = expected
            let phase = Double(row % SyntheticSignal.rowsPerDay) / Double(SyntheticSignal.rowsPerDay) * 2 * Double.pi
            farthestFromWave = max(farthestFromWave, abs(expected - (10 + sin(phase))))
        }
        // A 48-bin profile of a unit sine moves at most ~0.13 from one bin to the next.
        #expect(largestJump < 0.3, "largest jump \(largestJump)")
        #expect(farthestFromWave < 0.4, "farthest from the wave \(farthestFromWave)")
    }

    @Test("higher sensitivity raises the score of the same deviation")
    func sensitivity() {
        func score(_ sensitivity: Double) -> Double {
            var detector = DefaultAnomalyDetector(settings: DetectorSettings(sensitivity: sensitivity))
            var last = 0.0
            for sample in SyntheticSignal().values(count: 2001, change: { $0 == 2000 ? $1 + 0.35 : $1 }) {
                last = detector.observe(sample.1, at: sample.0).score
            }
            return last
        }
        #expect(score(0.9) > score(0.5))
        #expect(score(0.5) > score(0.1))
    }
}

@Suite struct DefaultAnomalyDetectorRecurrenceTests {
    /// A noise-free pulse pair every 100 rows (as in NAB's art_increase_spike_density), then,
    /// at row 3000, a new shape: three pulses two rows apart.
    static func pulses(row: Int) -> Double {
        if row >= 3000 && row < 3006 { return row % 2 == 0 ? 20 : 0 }
        return row % 100 == 0 || row % 100 == 6 ? 20 : 0
    }

    @Test("an exactly repeating burst is not re-announced, and a new shape still is")
    func repeatingBurst() {
        var detector = DefaultAnomalyDetector()
        var repeatAlarms: [Int] = []
        var newShapeAlarm = false
        for row in 0..<3100 {
            let timestamp = SyntheticSignal.start + Int64(row) * SyntheticSignal.stepMillis
            let score = detector.observe(Self.pulses(row: row), at: timestamp).score
            if row >= 600 && row < 3000 && score >= 0.5 { repeatAlarms.append(row) }
            if row >= 3000 && score >= 0.5 { newShapeAlarm = true }
        }
        #expect(repeatAlarms.isEmpty, "alarms on repeats at rows \(repeatAlarms)")
        #expect(newShapeAlarm)
    }
}
