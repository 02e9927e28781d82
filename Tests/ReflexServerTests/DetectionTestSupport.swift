import Foundation
import Logging
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore
import Synchronization

/// A temp-dir sample store and registry with a running group-commit writer, and a way to build
/// detection services over them.
struct DetectionFixture: Sendable {
    static let logger = Logger(label: "DetectionTests", factory: { _ in SwiftLogNoOpLogHandler() })
    static let start: Int64 = 1_764_145_200_000
    static let device = try! DeviceID(validating: "pump-1")
    static let vibration = try! MetricName(validating: "vibration")

    let directory: String
    let store: SQLiteSampleStore
    let registry: SQLiteDeviceRegistry
    let clock: WallClock

    /// A settable "now" in ms since the epoch.
    final class WallClock: Sendable {
        let value = Mutex<Int64>(DetectionFixture.start)
        var now: Int64 { value.withLock { $0 } }
        func set(_ now: Int64) { value.withLock { $0 = now } }
    }

    /// Runs `body` with a fresh store (writer running; with `logsCommits`, keeping the commit
    /// log as the node does with detection on) and registry.
    @discardableResult
    static func run<T: Sendable>(
        logsCommits: Bool = false,
        _ body: @escaping @Sendable (DetectionFixture) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectoryAsync { directory in
            let store = try SQLiteSampleStore(
                configuration: SQLiteSampleStoreConfiguration(directory: directory, logsCommits: logsCommits),
                logger: logger
            )
            let fixture = DetectionFixture(
                directory: directory,
                store: store,
                registry: try SQLiteDeviceRegistry(dataDirectory: directory),
                clock: WallClock()
            )
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                do {
                    let result = try await body(fixture)
                    group.cancelAll()
                    try await group.waitForAll()
                    return result
                } catch {
                    group.cancelAll()
                    throw error
                }
            }
        }
    }

    /// A detection service over the fixture's store, not running: tests drive it directly.
    func service(
        _ configuration: DetectionConfiguration = DetectionConfiguration(),
        events: NodeEvents = NodeEvents()
    ) -> DetectionService {
        let clock = self.clock
        return DetectionService(
            configuration: configuration,
            scores: store,
            store: store,
            devices: registry,
            events: events,
            now: { clock.now },
            logger: Self.logger
        )
    }

    /// Commits `batch` to the store as ingest would, then lets `service` score it.
    func ingest(_ batch: TelemetryBatch, into service: DetectionService) async throws {
        try await store.append(batch)
        await service.process(batch)
    }

    /// A batch of one sample per value, `every` ms apart from `from`.
    static func batch(
        _ values: [Double],
        metric: MetricName = vibration,
        from: Int64 = start,
        every: Int64 = 1_000
    ) -> TelemetryBatch {
        TelemetryBatch(
            device: device,
            samples: values.enumerated().map {
                Sample(metric: metric, timestamp: from + Int64($0.offset) * every, value: $0.element)
            }
        )
    }

    /// A noisy but regular signal with a spike at `spikeAt`.
    static func signal(count: Int, spikeAt: Int? = nil) -> [Double] {
        (0..<count).map { index in
            let base = 10 + sin(Double(index) / 5) + Double((index * 7919) % 13) / 26
            return index == spikeAt ? base + 40 : base
        }
    }

    /// Waits (without sleeping on a fixed time) until the score series has `count` samples.
    func waitForScores(_ metric: String, count: Int) async throws -> [Sample] {
        let key = SeriesKey(device: Self.device, metric: try MetricName(validating: metric))
        for _ in 0..<2_000 {
            let page = try await store.rawRange(key, from: 0, to: Int64.max / 2, limit: 100_000, cursor: nil)
            if page.samples.count >= count { return page.samples }
            await Task.yield()
            try await Task.sleep(for: .milliseconds(5))
        }
        throw FixtureError("score series \(metric) never reached \(count) samples")
    }
}
