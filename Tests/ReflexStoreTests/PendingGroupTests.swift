import ReflexCore
import Testing

@testable import ReflexStore

@Suite("Pending group: bounded drains for transactions of a bounded size")
struct PendingGroupTests {
    static func item(_ samples: Int) throws -> PendingItem {
        let metric = try MetricName(validating: "m")
        let batch = TelemetryBatch(
            device: try DeviceID(validating: "pump-7"),
            samples: (0..<samples).map { Sample(metric: metric, timestamp: Int64($0), value: 1) }
        )
        return PendingItem(work: .batch(batch), completion: { _ in })
    }

    @Test("drains take the oldest items up to the bound, at least one, and leave the rest in order")
    func boundedDrain() throws {
        var group = PendingGroup()
        for samples in [4, 4, 4, 30, 1] { _ = group.submit(try Self.item(samples), weight: samples, limit: 1000) }
        #expect(group.drain(upTo: 10).map(\.weight) == [4, 4])
        #expect(group.weight == 35)
        #expect(group.drain(upTo: 10).map(\.weight) == [4])  // 4 + 30 would pass the bound
        #expect(group.drain(upTo: 10).map(\.weight) == [30])  // heavier than the bound: alone
        #expect(group.drain(upTo: 10).map(\.weight) == [1])
        #expect(group.drain(upTo: 10).isEmpty && group.weight == 0)
        // A new item after a drain to empty wakes the writer again.
        guard case .queued(let wakeWriter) = group.submit(try Self.item(2), weight: 2, limit: 1000) else {
            Issue.record("not queued")
            return
        }
        #expect(wakeWriter)
    }
}
