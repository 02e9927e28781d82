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
        Case(description: "variance change", components: ["variance", "seasonal", "seasonal-spike"], maximumDelay: 200)
        { row, value in
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

    @Test("pure noise on a daily wave raises at most a few alarms per 10 000 samples after the first day")
    func quietSignal() {
        var detector = DefaultAnomalyDetector()
        var alarms = 0
        for (row, sample) in SyntheticSignal(seed: 3).values(count: 20_000).enumerated() {
            let score = detector.observe(sample.1, at: sample.0).score
            if row >= 288, score >= 0.5 { alarms += 1 }
        }
        #expect(alarms <= 6, "\(alarms) alarms")
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
        #expect(["spike", "seasonal-spike"].contains(verdict.explanation.component))
        #expect(verdict.explanation.deviation > 3.75)
        let expected = verdict.explanation.expected ?? .nan
        #expect(abs(expected - 10) < 1)
        #expect((verdict.explanation.upper ?? .infinity) < 15)
        #expect((verdict.explanation.lower ?? .infinity) < expected)
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
