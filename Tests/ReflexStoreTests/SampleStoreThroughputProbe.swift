import Foundation
import ReflexCore
import ReflexStore
import Testing

/// A quick look at enqueue-to-durable throughput per backend, printed, never asserted (timing is
/// a benchmark's business, not a test's). Off unless `REFLEX_STORE_PROBE=1`:
/// `REFLEX_STORE_PROBE=1 swift test --skip-build --filter SampleStoreThroughputProbe`.
@Suite(
    "Sample store throughput probe (REFLEX_STORE_PROBE=1)",
    .enabled(if: ProcessInfo.processInfo.environment["REFLEX_STORE_PROBE"] == "1"),
    .serialized
)
struct SampleStoreThroughputProbe {
    @Test("100 devices x 10 values per message, all enqueued at once", arguments: StoreKind.available)
    func probe(kind: StoreKind) async throws {
        let messages = Int(ProcessInfo.processInfo.environment["REFLEX_STORE_PROBE_MESSAGES"] ?? "") ?? 30_000
        let metrics = try (0..<10).map { try MetricName(validating: "m\($0)") }
        let devices = try (0..<100).map { try DeviceID(validating: "dev-\($0)") }
        let batches = (0..<messages).map { index in
            TelemetryBatch(
                device: devices[index % devices.count],
                samples: metrics.map { Sample(metric: $0, timestamp: Int64(index / devices.count) * 1000, value: 1.5) }
            )
        }
        try await SampleStoreContract.withStore(kind) { store in
            let clock = ContinuousClock()
            let started = clock.now
            let failures = LockedBox(0)
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let remaining = LockedBox(batches.count)
                for batch in batches {
                    store.enqueue(batch) { result in
                        if case .failure = result { failures.withLock { $0 += 1 } }
                        if remaining.withLock({
                            $0 -= 1
                            return $0
                        }) == 0 {
                            done.resume()
                        }
                    }
                }
            }
            let elapsed = started.duration(to: clock.now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let statistics = store.ingestStatistics()
            print(
                "probe \(kind): \(messages * 10) samples in \(seconds) s = \(Int(Double(messages * 10) / seconds)) samples/s,"
                    + " \(statistics.commits) commits, \(failures.value) failures"
            )
            #expect(failures.value == 0)
        }
    }
}
