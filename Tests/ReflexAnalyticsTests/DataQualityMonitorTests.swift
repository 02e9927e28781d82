import Foundation
import ReflexCore
import Testing

@testable import ReflexAnalytics

@Suite("Data-quality monitor")
struct DataQualityMonitorTests {
    static let series = SeriesKey(
        device: try! DeviceID(validating: "pump-1"),
        metric: try! MetricName(validating: "vibration")
    )
    static let start: Int64 = 1_764_145_200_000

    /// Feeds `values` every `interval` ms from `start`; returns every event.
    static func feed(
        _ monitor: inout DataQualityMonitor,
        _ values: [Double],
        from start: Int64 = start,
        every interval: Int64 = 10_000
    ) -> [DataQualityEvent] {
        var events: [DataQualityEvent] = []
        for (index, value) in values.enumerated() {
            events += monitor.observe(value, at: start + Int64(index) * interval)
        }
        return events
    }

    /// A wobbling signal: never the same value twice in a row.
    static func wobble(_ count: Int) -> [Double] { (0..<count).map { 10 + Double($0 % 7) * 0.1 } }

    @Test("a clean regular series raises nothing")
    func clean() {
        var monitor = DataQualityMonitor(series: Self.series, rules: DataQualityRules(minimum: 0, maximum: 50))
        #expect(Self.feed(&monitor, Self.wobble(500)).isEmpty)
        #expect(monitor.check(now: Self.start + 500 * 10_000).isEmpty)
        #expect(monitor.activeKinds.isEmpty)
    }

    @Test("out of range starts above the maximum and ends back inside")
    func outOfRange() {
        var monitor = DataQualityMonitor(series: Self.series, rules: DataQualityRules(minimum: 0, maximum: 50))
        let events = Self.feed(&monitor, [10, 20, 75, 80, 30, -1, 5])
        #expect(events.map(\.kind) == [.outOfRange, .outOfRange, .outOfRange, .outOfRange])
        #expect(events.map(\.isActive) == [true, false, true, false])
        #expect(events[0].detail == "value 75 is above the physical range 0…50")
        #expect(events[0].timestamp == Self.start + 20_000)
        #expect(events[2].detail == "value -1 is below the physical range 0…50")
        #expect(events[0].series == Self.series)
    }

    @Test("a value stuck far longer than its longest normal run is a flatline, until it changes")
    func flatline() {
        var monitor = DataQualityMonitor(series: Self.series)
        // Normal: runs of 3 equal samples (20 s) for an hour, then stuck for an hour.
        let normal = (0..<360).map { Double($0 / 3 % 5) }
        var events = Self.feed(&monitor, normal)
        #expect(events.isEmpty)
        let stuckStart = Self.start + 360 * 10_000
        events = Self.feed(&monitor, Array(repeating: 42, count: 360), from: stuckStart)
        #expect(events.count == 1)
        let started = events.first
        #expect(started?.kind == .flatline && started?.isActive == true)
        // Minimum 15 min dominates 4 × 20 s: it fires at the first sample past 15 min.
        #expect(started?.timestamp == stuckStart + 15 * 60_000 + 10_000)
        #expect(started?.detail == "value 42 unchanged for 15.2 min (usual longest run 20 s)")
        events = monitor.observe(43, at: stuckStart + 360 * 10_000)
        #expect(events.map(\.isActive) == [false])
        #expect(events.first?.detail == "value changed to 43 after 1 h unchanged")
    }

    @Test("the flatline threshold follows the learned longest run: long normal runs are flagged once, then learnt")
    func flatlineLearnsLongRuns() {
        var monitor = DataQualityMonitor(series: Self.series)
        // A door contact: 0 for 30 min, 1 for 30 min, ... then one 40 min run.
        var values: [Double] = []
        for cycle in 0..<4 { values += Array(repeating: Double(cycle % 2), count: 180) }
        values += Array(repeating: 0, count: 240)
        let events = Self.feed(&monitor, values)
        // Only the first run, before any run was learnt, crosses the 15 min minimum.
        #expect(events.map(\.kind) == [.flatline, .flatline])
        #expect(events.map(\.isActive) == [true, false])
        #expect(events.last?.timestamp == Self.start + 180 * 10_000)
        #expect(monitor.activeKinds.isEmpty)
    }

    @Test("silence is relative to the learned cadence and ends with the next sample")
    func silence() {
        var monitor = DataQualityMonitor(series: Self.series)
        _ = Self.feed(&monitor, Self.wobble(100))
        let last = Self.start + 99 * 10_000
        #expect(monitor.check(now: last + 45_000).isEmpty)  // 4.5 intervals: not yet
        let started = monitor.check(now: last + 51_000)
        #expect(started.map(\.kind) == [.silence])
        #expect(started.first?.isActive == true)
        #expect(started.first?.detail == "no sample for 51 s (usual interval 10 s)")
        #expect(monitor.check(now: last + 90_000).isEmpty)  // reported once
        let ended = monitor.observe(10, at: last + 120_000)
        #expect(ended.map(\.kind) == [.silence])
        #expect(ended.first?.isActive == false)
        #expect(ended.first?.detail == "samples again after 2 min")
    }

    @Test("silence needs at least the minimum gap and a warmed-up cadence")
    func silenceMinimum() {
        var monitor = DataQualityMonitor(series: Self.series)
        _ = Self.feed(&monitor, Self.wobble(10), every: 1_000)
        #expect(monitor.check(now: Self.start + 3_600_000).isEmpty)  // only 10 samples: no cadence yet
        _ = Self.feed(&monitor, Self.wobble(100), from: Self.start + 10_000, every: 1_000)
        let last = Self.start + 10_000 + 99_000
        #expect(monitor.check(now: last + 20_000).isEmpty)  // 20 intervals, but under 30 s
        #expect(monitor.check(now: last + 31_000).map(\.kind) == [.silence])
    }

    @Test("a timestamp going backwards starts a regression; the next in-order sample ends it")
    func regression() {
        var monitor = DataQualityMonitor(series: Self.series)
        var events = Self.feed(&monitor, [1, 2, 3])
        events += monitor.observe(4, at: Self.start + 5_000)
        events += monitor.observe(5, at: Self.start + 6_000)  // still behind 20 s: reported once
        events += monitor.observe(6, at: Self.start + 30_000)
        #expect(events.map(\.kind) == [.timestampRegression, .timestampRegression])
        #expect(events.map(\.isActive) == [true, false])
        #expect(
            events[0].detail
                == "timestamp \(Self.start + 5_000) is 15 s before the previous sample (\(Self.start + 20_000))"
        )
        #expect(events[0].timestamp == Self.start + 5_000)
    }

    @Test("a sudden change of reporting rate is reported, and ends when the old rate returns")
    func rateChange() {
        var monitor = DataQualityMonitor(series: Self.series)
        var events = Self.feed(&monitor, Self.wobble(200))
        #expect(events.isEmpty)
        let fastStart = Self.start + 200 * 10_000
        events = Self.feed(&monitor, Self.wobble(30), from: fastStart, every: 1_000)
        #expect(events.map(\.kind) == [.rateChange])
        #expect(events.first?.isActive == true)
        #expect(events.first?.detail.hasPrefix("reporting faster: every") == true)
        events = Self.feed(&monitor, Self.wobble(30), from: fastStart + 40_000, every: 10_000)
        #expect(events.map(\.kind) == [.rateChange])
        #expect(events.first?.isActive == false)
    }

    @Test("a restored monitor continues exactly like the original")
    func codableState() throws {
        var original = DataQualityMonitor(series: Self.series, rules: DataQualityRules(maximum: 11))
        _ = Self.feed(&original, Self.wobble(150))
        let data = try JSONEncoder().encode(original)
        var restored = try JSONDecoder().decode(DataQualityMonitor.self, from: data)
        #expect(restored == original)
        let rest = Self.wobble(100).map { $0 * 1.2 }
        let next = Self.start + 150 * 10_000
        let resumed = Self.feed(&restored, rest, from: next, every: 3_000)
        let continued = Self.feed(&original, rest, from: next, every: 3_000)
        #expect(resumed == continued)
        #expect(restored == original)
    }

    @Test("constant, huge and non-finite values neither crash nor produce NaN details")
    func robustness() {
        var monitor = DataQualityMonitor(series: Self.series, rules: DataQualityRules(minimum: -1e300, maximum: 1e300))
        var events = Self.feed(&monitor, [Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude, 0])
        events += monitor.observe(.nan, at: Self.start + 100_000)
        events += monitor.observe(.infinity, at: Self.start + 100_000)
        events += monitor.check(now: Int64.max / 2)
        #expect(events.allSatisfy { !$0.detail.isEmpty })
        #expect(events.contains { $0.kind == .outOfRange })
    }
}
