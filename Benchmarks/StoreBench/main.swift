// The sample store on its own, release build: committed ingest throughput with 100 devices x
// 10 values per message, acknowledgement latency at paced rates, bytes on disk per sample, and
// query latency for one day of 1 Hz raw samples and one year of 1-minute rollups.
//
//   usage: StoreBench [messages-per-device] [--store sqlite|postgres://USER:PASSWORD@HOST:PORT/DATABASE]
//
// `cd Benchmarks && swift run -c release StoreBench 2000` measures SQLiteSampleStore; with
// `--store postgres://...` the same workloads run on PostgresSampleStore, each phase in a fresh
// database created and dropped through the URL's database (scripts/bench-store-postgres.sh
// starts a throwaway cluster for it). Results in docs/benchmarks.md.
import Foundation
import Logging
import ReflexCore
import ReflexStore
import Synchronization

final class Box<V: Sendable>: Sendable {
    let m: Mutex<V>
    init(_ v: V) { m = Mutex(v) }
    func withLock<R: Sendable>(_ body: (inout V) -> R) -> R { m.withLock { body(&$0) } }
}

let options: BenchOptions
switch BenchOptions.parse(Array(CommandLine.arguments.dropFirst())) {
case .success(let parsed): options = parsed
case .failure(let error):
    if let reason = error.reason {
        FileHandle.standardError.write(Data("StoreBench: \(reason)\n\(BenchOptions.usage)\n".utf8))
        exit(64)
    }
    print(BenchOptions.usage)
    exit(0)
}
let messagesPerDevice = options.messagesPerDevice
if case .postgres = options.location { print("store: \(options.location)") }

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int(Double(s.count - 1) * p + 0.5))]
}

// 1. Throughput: 100 devices x 10 metrics, 10 values per message.
let devices = try (0..<100).map { try DeviceID(validating: "dev-\($0)") }
let metrics = try (0..<10).map { try MetricName(validating: "m\($0)") }
let base: Int64 = 1_764_000_000_000
let site1 = try await BenchSite.fresh(options.location)
let totalMessages = devices.count * messagesPerDevice
let (elapsed, stats) = try await site1.withStore { store in
    let clock = ContinuousClock()
    let start = clock.now
    let done = Box(0)
    let failures = Box(0)
    await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
        let producers = 2
        Task {
            await withTaskGroup(of: Void.self) { g in
                for p in 0..<producers {
                    g.addTask {
                        var i = p
                        while i < messagesPerDevice {
                            let ts = base + Int64(i) * 1000
                            for d in devices {
                                let batch = TelemetryBatch(
                                    device: d,
                                    samples: metrics.enumerated().map {
                                        Sample(
                                            metric: $0.element,
                                            timestamp: ts,
                                            value: Double(i % 1000) + Double($0.offset) * 0.25
                                        )
                                    }
                                )
                                while true {
                                    let refused = Box(false)
                                    store.enqueue(batch) { r in
                                        switch r {
                                        case .success:
                                            if done.withLock({
                                                $0 += 1
                                                return $0
                                            }) == totalMessages {
                                                cont.resume()
                                            }
                                        case .failure(let e):
                                            if let e = e as? SampleStoreError, e.code == .overloaded {
                                                refused.withLock { $0 = true }
                                            } else {
                                                failures.withLock { $0 += 1 }
                                            }
                                        }
                                    }
                                    if refused.withLock({ $0 }) {
                                        try? await Task.sleep(for: .milliseconds(2))
                                    } else {
                                        break
                                    }
                                }
                            }
                            i += producers
                        }
                    }
                }
            }
        }
    }
    return (clock.now - start, store.ingestStatistics())
}
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let samples = Double(totalMessages * 10)
print(
    "throughput: \(Int(samples)) samples (\(totalMessages) msgs) committed in \(String(format: "%.3f", seconds)) s = \(Int(samples / seconds)) samples/s; commits=\(stats.commits) failed=\(stats.failedCommits)"
)
try await site1.printSize(samples: samples)
await site1.remove()

// 1b. Ack latency at a paced rate (enqueue -> completion).
for rate in [20_000, 50_000] {  // messages/s of 10 samples
    let site = try await BenchSite.fresh(options.location)
    let latencies = Box<[Double]>([])
    try await site.withStore { store in
        let clock = ContinuousClock()
        let start = clock.now
        let perTick = rate / 1000
        var sent = 0
        let pending = Box(0)
        for tick in 0..<3000 {  // 3 s of 1 ms ticks
            for k in 0..<perTick {
                let d = devices[(sent + k) % devices.count]
                let ts = base + Int64(sent / devices.count) * 1000
                let batch = TelemetryBatch(
                    device: d,
                    samples: metrics.map { Sample(metric: $0, timestamp: ts, value: 1) }
                )
                let t0 = clock.now
                pending.withLock { $0 += 1 }
                store.enqueue(batch) { r in
                    let l = clock.now - t0
                    if case .success = r {
                        latencies.withLock {
                            $0.append(Double(l.components.attoseconds) / 1e15 + Double(l.components.seconds) * 1000)
                        }
                    }
                    pending.withLock { $0 -= 1 }
                }
            }
            sent += perTick
            try await clock.sleep(until: start.advanced(by: .milliseconds(tick + 1)))
        }
        while pending.withLock({ $0 }) > 0 { try await Task.sleep(for: .milliseconds(5)) }
    }
    let l = latencies.withLock { $0 }
    print(
        "ack latency at \(rate * 10) samples/s offered (\(l.count) msgs): p50 \(String(format: "%.1f", percentile(l, 0.5))) ms, p99 \(String(format: "%.1f", percentile(l, 0.99))) ms, max \(String(format: "%.1f", l.max() ?? 0)) ms"
    )
    await site.remove()
}

// 2. One day of 1 Hz raw, and a year of 1-minute rollups.
let site2 = try await BenchSite.fresh(options.location)
try await site2.withStore { store in
    let dev = try DeviceID(validating: "pump-7")
    let hz = try MetricName(validating: "hz")
    let minutely = try MetricName(validating: "minutely")
    let day0: Int64 = 1_764_028_800_000  // midnight UTC
    for chunk in stride(from: 0, to: 86_400, by: 10_000) {
        let s = (chunk..<min(chunk + 10_000, 86_400)).map {
            Sample(metric: hz, timestamp: day0 + Int64($0) * 1000, value: Double($0 % 977))
        }
        try await store.append(TelemetryBatch(device: dev, samples: s))
    }
    let year0 = day0 - 365 * 86_400_000
    for chunk in stride(from: 0, to: 525_600, by: 20_000) {
        let s = (chunk..<min(chunk + 20_000, 525_600)).map {
            Sample(metric: minutely, timestamp: year0 + Int64($0) * 60_000 + 17, value: Double($0 % 1013))
        }
        try await store.append(TelemetryBatch(device: dev, samples: s))
    }
    try await site2.prepareForQueries()
    let clock = ContinuousClock()
    func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
    var rawTimes: [Double] = []
    var n = 0
    for _ in 0..<60 {
        let t = clock.now
        let page = try await store.rawRange(
            SeriesKey(device: dev, metric: hz),
            from: day0,
            to: day0 + 86_400_000,
            limit: 100_000,
            cursor: nil
        )
        rawTimes.append(ms(clock.now - t))
        n = page.samples.count
    }
    print(
        "rawRange 1 day @1 Hz (\(n) samples): p50 \(String(format: "%.2f", percentile(rawTimes, 0.5))) ms, p99 \(String(format: "%.2f", percentile(rawTimes, 0.99))) ms"
    )
    var aggTimes: [Double] = []
    var points = 0
    for _ in 0..<60 {
        let t = clock.now
        let r = try await store.aggregate(
            SeriesKey(device: dev, metric: minutely),
            from: year0,
            to: day0,
            step: .seconds(900)
        )
        aggTimes.append(ms(clock.now - t))
        points = r.count
    }
    print(
        "aggregate 1 year of 1-min rollups (525,600 rows, step 15 min -> \(points) points, minute rollup): p50 \(String(format: "%.2f", percentile(aggTimes, 0.5))) ms, p99 \(String(format: "%.2f", percentile(aggTimes, 0.99))) ms"
    )
    let sqlTimes = try await site2.plainScanTimes(SeriesKey(device: dev, metric: minutely), runs: 30)
    print("plain SQL scan of the 525,600 minute rows: p50 \(String(format: "%.2f", percentile(sqlTimes, 0.5))) ms")
    var dayTimes: [Double] = []
    for _ in 0..<60 {
        let t = clock.now
        _ = try await store.aggregate(
            SeriesKey(device: dev, metric: minutely),
            from: year0,
            to: day0,
            step: .seconds(86_400)
        )
        dayTimes.append(ms(clock.now - t))
    }
    print(
        "aggregate 1 year, step 1 day (hour rollup, 8,760 rows): p50 \(String(format: "%.2f", percentile(dayTimes, 0.5))) ms, p99 \(String(format: "%.2f", percentile(dayTimes, 0.99))) ms"
    )
}
await site2.remove()
