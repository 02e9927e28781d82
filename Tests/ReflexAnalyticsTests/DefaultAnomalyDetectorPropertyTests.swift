import Foundation
import ReflexAnalytics
import ReflexCore
import Testing

/// Whatever it is fed, the detector returns a score in [0, 1], never NaN, and never crashes.
@Suite struct DefaultAnomalyDetectorPropertyTests {
    static func expectValid(_ verdict: AnomalyScore, _ context: String) {
        #expect(verdict.score >= 0 && verdict.score <= 1, "\(context): score \(verdict.score)")
        #expect(!verdict.explanation.deviation.isNaN, "\(context): deviation is NaN")
        for bound in [verdict.explanation.expected, verdict.explanation.lower, verdict.explanation.upper] {
            if let bound { #expect(!bound.isNaN, "\(context): band is NaN") }
        }
    }

    static let hostileValues: [Double] = [
        0, 1, -1, 1e300, -1e300, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        .leastNonzeroMagnitude, .nan, .infinity, -.infinity, 42, 42, 1e-300,
    ]

    @Test("random walks, hostile values, gaps and timestamp regressions keep scores valid")
    func randomInputs() {
        var random = SplitMix64(seed: 11)
        for trial in 0..<20 {
            var detector = DefaultAnomalyDetector()
            var timestamp: Int64 = 1_700_000_000_000
            var value = 0.0
            for row in 0..<2000 {
                switch random.next() % 10 {
                case 0: value = Self.hostileValues[Int(random.next() % UInt64(Self.hostileValues.count))]
                case 1: timestamp -= Int64(random.next() % 10_000_000)  // regression
                case 2: timestamp += 86_400_000 * Int64(random.next() % 400)  // long gap
                default:
                    value = (value.isFinite && abs(value) < 1e6 ? value : 0) + random.gaussian()
                    timestamp += 60_000
                }
                Self.expectValid(detector.observe(value, at: timestamp), "trial \(trial) row \(row)")
            }
        }
    }

    @Test("a constant series scores zero, then a change from it scores one")
    func constantSeries() {
        var detector = DefaultAnomalyDetector()
        for row in 0..<1000 {
            let verdict = detector.observe(5, at: Int64(row) * 60_000)
            #expect(verdict.score == 0, "row \(row)")
        }
        let verdict = detector.observe(5.001, at: 1000 * 60_000)
        Self.expectValid(verdict, "step")
        #expect(verdict.score > 0.99)
    }

    @Test("huge values (1e300 and -1e300) alternate without overflow", arguments: [1e300, -1e300])
    func hugeValues(_ magnitude: Double) {
        var detector = DefaultAnomalyDetector()
        for row in 0..<600 {
            let value = row.isMultiple(of: 2) ? magnitude : -magnitude * 0.5
            Self.expectValid(detector.observe(value, at: Int64(row)), "row \(row)")
        }
    }

    @Test("NaN and infinite values are ignored: scored 0 and not learnt")
    func nonFiniteValues() throws {
        var withGarbage = DefaultAnomalyDetector()
        var clean = DefaultAnomalyDetector()
        for sample in SyntheticSignal().values(count: 800) {
            for garbage in [Double.nan, .infinity, -.infinity] {
                let verdict = withGarbage.observe(garbage, at: sample.0)
                #expect(verdict.score == 0)
                #expect(verdict.explanation.component == "invalid")
            }
            #expect(withGarbage.observe(sample.1, at: sample.0) == clean.observe(sample.1, at: sample.0))
        }
    }

    @Test("a disabled detector scores zero")
    func disabled() {
        var detector = DefaultAnomalyDetector(settings: DetectorSettings(isEnabled: false))
        for sample in SyntheticSignal().values(count: 500, change: { $0 == 400 ? $1 + 100 : $1 }) {
            #expect(detector.observe(sample.1, at: sample.0).score == 0)
        }
    }

    @Test("state stays bounded over a million samples: the checkpoint does not grow")
    func memory() throws {
        // Measured, not estimated: the encoded checkpoint holds every stored value of the detector
        // (windows, profile bins, records), so a buffer that grew with the samples would show here.
        var detector = DefaultAnomalyDetector()
        let encoder = JSONEncoder()
        var sizes: [Int] = []
        let signal = SyntheticSignal().values(count: 1_000_000)
        for (row, sample) in signal.enumerated() {
            _ = detector.observe(sample.1, at: sample.0)
            if row == 10_000 || row == 100_000 || row == 999_999 {
                sizes.append(try encoder.encode(detector).count)
            }
        }
        #expect(sizes.count == 3)
        // Warm (10,000 samples, every window full) against 100 times as many: the same size, up to
        // the digits of the numbers in the JSON.
        let warm = try #require(sizes.first)
        #expect(sizes.allSatisfy { abs($0 - warm) <= warm / 10 }, "checkpoint sizes \(sizes)")
        #expect(sizes.allSatisfy { $0 <= 16_384 }, "checkpoint sizes \(sizes)")
        #expect(detector.memoryFootprint <= 4096)
    }
}

/// Checkpoints: a decoded detector continues exactly as the original.
@Suite struct DefaultAnomalyDetectorCodableTests {
    @Test(
        "a JSON round trip mid-stream gives bit-identical subsequent scores",
        arguments: [0, 1, 30, 41, 1500, 2999]
    )
    func roundTrip(at split: Int) throws {
        let samples = SyntheticSignal(noise: 0.3).values(count: 3600) { row, value in
            row >= 3000 ? value + 2 : (row % 777 == 0 ? value * 3 : value)
        }
        var original = DefaultAnomalyDetector(
            settings: DetectorSettings(sensitivity: 0.7, seasonality: .seconds(3600))
        )
        for sample in samples[..<split] { _ = original.observe(sample.1, at: sample.0) }
        let data = try JSONEncoder().encode(original)
        var restored = try JSONDecoder().decode(DefaultAnomalyDetector.self, from: data)
        #expect(restored.settings == original.settings)
        for sample in samples[split...] {
            let expected = original.observe(sample.1, at: sample.0)
            let actual = restored.observe(sample.1, at: sample.0)
            #expect(expected.score.bitPattern == actual.score.bitPattern)
            #expect(expected == actual)
        }
    }
}

/// Upgrades: a checkpoint written before the burst channel and the range test existed.
@Suite struct DefaultAnomalyDetectorUpgradeTests {
    /// The keys of a checkpoint of the detector before burst and range (checked against one
    /// written by that version's code).
    static let previousKeys: Set<String> = [
        "absoluteStepMean", "alarmNovelty", "count", "drift", "lastValue", "persistence", "profile", "recent",
        "samplesSinceAlarm", "seasonalLevel", "seasonalSpike", "settings", "spike", "variance",
    ]

    /// `detector`'s checkpoint as the previous version wrote it: without the new components.
    static func previousCheckpoint(of detector: DefaultAnomalyDetector) throws -> Data {
        let data = try JSONEncoder().encode(detector)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["burst", "excursions", "newComponentsLearnUntil"] { object[key] = nil }
        var profile = try #require(object["profile"] as? [String: Any])
        for key in ["intervalMillis", "lastTimestamp"] { profile[key] = nil }
        #expect(Set(profile.keys) == ["means", "visited", "periodMillis"])
        object["profile"] = profile
        #expect(Set(object.keys) == previousKeys)
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test("an older checkpoint restores: what it learnt carries on, the new components learn before they alarm")
    func olderCheckpoint() throws {
        // Three days of the daily wave, then an oscillation inside the normal range that only
        // the burst channel sees.
        let upgradeRow = 3 * SyntheticSignal.rowsPerDay
        let oscillationRow = upgradeRow + 1500
        let samples = SyntheticSignal().values(count: oscillationRow + 50) { row, value in
            row >= oscillationRow ? value + (row % 2 == 0 ? 0.3 : -0.3) : value
        }
        var original = DefaultAnomalyDetector()
        for sample in samples[..<upgradeRow] { _ = original.observe(sample.1, at: sample.0) }
        var upgraded = try JSONDecoder().decode(
            DefaultAnomalyDetector.self,
            from: Self.previousCheckpoint(of: original)
        )

        var alarms: [(row: Int, component: String)] = []
        for (offset, sample) in samples[upgradeRow...].enumerated() {
            let verdict = upgraded.observe(sample.1, at: sample.0)
            #expect(verdict.score >= 0 && verdict.score <= 1)
            // Not back in warm-up: the restored channels score from the first sample on.
            if offset == 0 { #expect(verdict.explanation.component != "warmup") }
            if verdict.score >= 0.5 { alarms.append((upgradeRow + offset, verdict.explanation.component)) }
        }
        #expect(alarms.first?.row ?? 0 >= oscillationRow, "alarm before the change: \(alarms)")
        #expect(alarms.first?.row ?? .max <= oscillationRow + 5, "alarms: \(alarms)")
        #expect(alarms.first?.component == "burst")
    }

    @Test("a restored older checkpoint is written back in the current format and round-trips exactly")
    func upgradedRoundTrip() throws {
        let samples = SyntheticSignal().values(count: 2000)
        var original = DefaultAnomalyDetector()
        for sample in samples[..<1000] { _ = original.observe(sample.1, at: sample.0) }
        var upgraded = try JSONDecoder().decode(
            DefaultAnomalyDetector.self,
            from: Self.previousCheckpoint(of: original)
        )
        for sample in samples[1000..<1500] { _ = upgraded.observe(sample.1, at: sample.0) }
        var again = try JSONDecoder().decode(DefaultAnomalyDetector.self, from: JSONEncoder().encode(upgraded))
        for sample in samples[1500...] {
            #expect(upgraded.observe(sample.1, at: sample.0) == again.observe(sample.1, at: sample.0))
        }
    }
}
