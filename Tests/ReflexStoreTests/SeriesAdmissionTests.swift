import ReflexCore
import ReflexStore
import Testing

/// The series limits: per device, per node, new series per minute, and a restart that counts
/// what exists.
@Suite struct SeriesAdmissionTests {
    static let pump = try! DeviceID(validating: "pump-1")
    static let fan = try! DeviceID(validating: "fan-1")

    static func metric(_ name: String) -> MetricName { try! MetricName(validating: name) }

    static func batch(_ device: DeviceID, _ names: [String], at timestamp: Int64 = 0) -> TelemetryBatch {
        TelemetryBatch(
            device: device,
            samples: names.map { Sample(metric: metric($0), timestamp: timestamp, value: 1) }
        )
    }

    static func names(_ samples: [Sample]) -> [String] { samples.map(\.metric.rawValue) }

    @Test("a device gets at most maxSeriesPerDevice series; its known series keep passing")
    func perDevice() {
        var admission = SeriesAdmission(limits: SeriesLimits(maxSeriesPerDevice: 3), existing: [])
        let first = admission.admit(Self.batch(Self.pump, ["a", "b", "c", "d", "e"]), at: 0)
        #expect(Self.names(first.admitted) == ["a", "b", "c"])
        #expect(Self.names(first.refused) == ["d", "e"])
        #expect(first.limits == [.seriesPerDevice])
        #expect(first.newSeries == 3)
        let again = admission.admit(Self.batch(Self.pump, ["c", "a", "d"]), at: 1)
        #expect(Self.names(again.admitted) == ["c", "a"])
        #expect(Self.names(again.refused) == ["d"])
        let known = admission.admit(Self.batch(Self.pump, ["a", "b", "c"]), at: 2)
        #expect(known.isComplete && known.newSeries == 0)
        // Another device is not affected.
        #expect(admission.admit(Self.batch(Self.fan, ["a", "b", "c"]), at: 3).isComplete)
        #expect(admission.seriesCount == 6)
    }

    @Test("repeated samples of one new series in a batch make one series")
    func repeatedMetric() {
        var admission = SeriesAdmission(limits: SeriesLimits(maxSeriesPerDevice: 1), existing: [])
        let batch = TelemetryBatch(
            device: Self.pump,
            samples: [0, 1, 2].map { Sample(metric: Self.metric("a"), timestamp: $0, value: 1) }
        )
        let decision = admission.admit(batch, at: 0)
        #expect(decision.admitted.count == 3 && decision.newSeries == 1)
    }

    @Test("the node limit counts every device's series")
    func perNode() {
        var admission = SeriesAdmission(limits: SeriesLimits(maxSeriesPerDevice: 10, maxSeries: 4), existing: [])
        #expect(admission.admit(Self.batch(Self.pump, ["a", "b", "c"]), at: 0).isComplete)
        let fan = admission.admit(Self.batch(Self.fan, ["a", "b"]), at: 0)
        #expect(Self.names(fan.admitted) == ["a"])
        #expect(fan.limits == [.seriesPerNode])
        #expect(admission.seriesCount == 4)
    }

    @Test("new series per minute: a burst of the limit, then one token per 60 s / limit")
    func rate() {
        var admission = SeriesAdmission(
            limits: SeriesLimits(maxSeriesPerDevice: 1000, maxNewSeriesPerMinute: 2),
            existing: []
        )
        let burst = admission.admit(Self.batch(Self.pump, ["a", "b", "c"]), at: 0)
        #expect(Self.names(burst.admitted) == ["a", "b"])
        #expect(burst.limits == [.newSeriesPerMinute])
        // 29 s later: not a whole token yet (2 per minute = one per 30 s).
        #expect(admission.admit(Self.batch(Self.pump, ["c"]), at: 29_000).refused.count == 1)
        #expect(admission.admit(Self.batch(Self.pump, ["c"]), at: 30_000).isComplete)
        // After a long quiet time the bucket holds at most the limit.
        let later = admission.admit(Self.batch(Self.pump, ["d", "e", "f"]), at: 3_600_000)
        #expect(Self.names(later.admitted) == ["d", "e"])
        // Known series are never rate limited.
        #expect(admission.admit(Self.batch(Self.pump, ["a", "b", "c", "d", "e"]), at: 3_600_001).isComplete)
    }

    @Test("new series per minute per node: devices each under their own rate share the node's bucket")
    func nodeRate() {
        var admission = SeriesAdmission(
            limits: SeriesLimits(maxNewSeriesPerMinute: 3, maxNewSeriesPerMinutePerNode: 4),
            existing: []
        )
        #expect(admission.admit(Self.batch(Self.pump, ["a", "b", "c"]), at: 0).isComplete)
        let fan = admission.admit(Self.batch(Self.fan, ["a", "b"]), at: 0)
        #expect(Self.names(fan.admitted) == ["a"])
        #expect(fan.limits == [.newSeriesPerMinutePerNode])
        // 4 per minute = one per 15 s, for whichever device asks first.
        #expect(admission.admit(Self.batch(Self.fan, ["b"]), at: 14_000).limits == [.newSeriesPerMinutePerNode])
        #expect(admission.admit(Self.batch(Self.fan, ["b"]), at: 15_000).isComplete)
        // The device's own bucket is checked first: the pump used its 3 and is refused by its own rate.
        let pump = admission.admit(Self.batch(Self.pump, ["d"]), at: 15_000)
        #expect(pump.limits == [.newSeriesPerMinute])
        // Known series always pass, whatever the node's bucket holds.
        #expect(admission.admit(Self.batch(Self.fan, ["a", "b"]), at: 15_000).isComplete)
    }

    @Test("a restart counts the series that exist; the node's anomaly: series do not count")
    func restart() {
        let existing =
            ["a", "b", "anomaly:a", "anomaly:b"].map { SeriesKey(device: Self.pump, metric: Self.metric($0)) }
            + [SeriesKey(device: Self.fan, metric: Self.metric("a"))]
        var admission = SeriesAdmission(limits: SeriesLimits(maxSeriesPerDevice: 3, maxSeries: 10), existing: existing)
        #expect(admission.seriesCount == 3)
        #expect(admission.seriesCount(of: Self.pump) == 2)
        let decision = admission.admit(Self.batch(Self.pump, ["a", "c", "d"]), at: 0)
        #expect(Self.names(decision.admitted) == ["a", "c"])
        #expect(Self.names(decision.refused) == ["d"])
    }

    @Test("a lowered limit keeps existing series and stops new ones")
    func loweredLimit() {
        let existing = ["a", "b", "c"].map { SeriesKey(device: Self.pump, metric: Self.metric($0)) }
        var admission = SeriesAdmission(limits: SeriesLimits(maxSeriesPerDevice: 2), existing: existing)
        #expect(admission.admit(Self.batch(Self.pump, ["a", "b", "c"]), at: 0).isComplete)
        #expect(admission.admit(Self.batch(Self.pump, ["d"]), at: 0).limits == [.seriesPerDevice])
    }

    @Test("refused batches of devices without series leave no state behind")
    func noStateForRefusedDevices() throws {
        var admission = SeriesAdmission(limits: SeriesLimits(maxSeries: 1), existing: [])
        #expect(admission.admit(Self.batch(Self.pump, ["a"]), at: 0).isComplete)
        for index in 0..<100 {
            let device = try DeviceID(validating: "flood-\(index)")
            #expect(admission.admit(Self.batch(device, ["x"]), at: 0).limits == [.seriesPerNode])
            #expect(admission.seriesCount(of: device) == 0)
        }
        #expect(admission.seriesCount == 1)
        #expect(admission.deviceCount == 1)
    }
}
