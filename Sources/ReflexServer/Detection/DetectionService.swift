import Foundation
public import Logging
import ReflexAnalytics
public import ReflexCore
public import ReflexStore
public import ServiceLifecycle
import Synchronization

/// Live detection: scores every committed numeric sample with its series' detector, watches
/// each series' data quality, stores the scores and bands, publishes the verdicts, and
/// checkpoints all state so that a restart continues where it left off.
///
/// Per batch from ``NodeEvents/telemetry`` (subscribed in the initialiser, so nothing committed
/// after the node is built is missed; bounded buffer, drops counted by the broadcast):
/// - at most ``DetectionConfiguration/maxSeries`` series have a detector; samples of further new
///   series are stored but not scored (counted in ``DetectionStatus/Counters/samplesUntracked``,
///   a warning logged once);
/// - each sample of a numeric series (not the `anomaly:*` score series) goes through the
///   series' ``DefaultAnomalyDetector`` and ``DataQualityMonitor``, created on first sight
///   with the settings ``DetectionConfiguration/resolve(deviceType:metric:)`` gives for the
///   device's registered type (looked up once per device and cached);
/// - the scores are queued into the sample store as the series `anomaly:<metric>` (the same
///   group commit as telemetry, never awaited on this path; refusals are counted);
/// - value, score and band (expected, lower, upper) go to the `anomaly_bands` table, written
///   every second in transactions of at most 2,000 rows, without fsync (derived data);
/// - ``AnalyticsEvent`` values are published on ``NodeEvents/analytics`` and recorded in
///   ``status`` for the HTTP API.
///
/// Time-driven work, on one loop: every second the bands are flushed; every
/// ``DetectionConfiguration/checkInterval`` silence is checked; every
/// ``DetectionConfiguration/checkpointInterval`` the state of changed series is written to
/// `detector_checkpoints` (and again on graceful shutdown); hourly, bands older than the raw
/// retention are deleted. ``run()`` restores the checkpoint before it takes the first batch.
public final class DetectionService: Service, Sendable {
    /// The configuration the service runs with.
    public let configuration: DetectionConfiguration
    /// What detection found, for the API.
    public let status = DetectionStatus()

    private let scores: any SampleStore
    let store: any DetectionStore
    private let devices: any DeviceDirectory
    private let telemetry: Broadcast<TelemetryBatch>
    private let batches: AsyncStream<TelemetryBatch>
    private let analytics: Broadcast<AnalyticsEvent>
    private let engine: Mutex<DetectionEngine>
    private let pendingPoints = Mutex<[(series: SeriesKey, point: AnomalyPoint)]>([])
    private let deviceTypes = Mutex<[DeviceID: String?]>([:])
    /// Whether the "detection is full" warning was logged (once per run).
    private let warnedFull = Atomic<Bool>(false)
    private let clock: any Clock<Duration>
    private let now: @Sendable () -> Int64
    private let logger: Logger

    /// Band rows buffered before a batch waits for them to be written.
    static let maxPendingPoints = 20_000

    /// - Parameters:
    ///   - configuration: settings per device type and metric, intervals.
    ///   - scores: where the `anomaly:<metric>` series are written (the plain store, not the
    ///     publishing one: scores are not telemetry).
    ///   - store: checkpoints and bands.
    ///   - devices: the registry, for device types.
    ///   - events: the node's streams; the service subscribes to `telemetry` now and publishes
    ///     on `analytics`.
    ///   - clock: drives the periodic work (default: `ContinuousClock`).
    ///   - now: wall-clock ms since the epoch (receive times, silence, checkpoint times).
    ///   - logger: the service's logger.
    public init(
        configuration: DetectionConfiguration,
        scores: any SampleStore,
        store: any DetectionStore,
        devices: any DeviceDirectory,
        events: NodeEvents,
        clock: any Clock<Duration> = ContinuousClock(),
        now: (@Sendable () -> Int64)? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.scores = scores
        self.store = store
        self.devices = devices
        self.telemetry = events.telemetry
        self.batches = events.telemetry.subscribe(bufferSize: configuration.bufferSize)
        self.analytics = events.analytics
        self.engine = Mutex(DetectionEngine(configuration: configuration))
        self.clock = clock
        self.now = now ?? { Int64(Date().timeIntervalSince1970 * 1000) }
        self.logger = logger
    }

    /// Telemetry batches lost by a full subscriber buffer of the telemetry broadcast (this
    /// service's or another subscriber's), since start.
    public var telemetryDropped: Int { telemetry.droppedCount }

    // MARK: - Service

    /// Restores the checkpoint, then scores committed batches until a graceful shutdown; then
    /// writes the pending bands and a last checkpoint.
    public func run() async throws {
        await restore()
        logger.info(
            "Detection started",
            metadata: [
                "detection.series": "\(status.seriesCount)",
                "detection.checkpointInterval": "\(configuration.checkpointInterval)",
            ]
        )
        await withDiscardingTaskGroup { group in
            group.addTask { await self.consume() }
            group.addTask { await self.tick() }
        }
        await flushPoints()
        await checkpoint()
        logger.info("Detection stopped", metadata: ["detection.samplesScored": "\(status.counters.samplesScored)"])
    }

    private func consume() async {
        for await batch in batches.cancelOnGracefulShutdown() {
            await process(batch)
        }
    }

    private func tick() async {
        let checkEvery = max(1, Int(configuration.checkInterval.components.seconds))
        let checkpointEvery = max(1, Int(configuration.checkpointInterval.components.seconds))
        let pruneEvery = 3_600
        var elapsed = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await self.clock.sleep(for: .seconds(1)) }
            } catch {
                return
            }
            elapsed += 1
            await flushPoints()
            if elapsed % checkEvery == 0 { checkQuality() }
            if elapsed % checkpointEvery == 0 { await checkpoint() }
            if elapsed % pruneEvery == 0 { await prune() }
        }
    }

    // MARK: - Work

    /// Scores one committed batch: stores the scores, queues the band rows, publishes events.
    public func process(_ batch: TelemetryBatch) async {
        let deviceType: String?
        if engine.withLock({ $0.knowsAllSeries(of: batch) }) {
            deviceType = nil  // only new series use it
        } else {
            deviceType = await self.deviceType(of: batch.device)
        }
        let receivedAt = now()
        let (output, scored, seriesCount, untracked) = engine.withLock { engine in
            let output = engine.process(batch, deviceType: deviceType, receivedAt: receivedAt)
            return (output, engine.samplesScored, engine.series.count, engine.samplesUntracked)
        }
        if untracked > 0, !warnedFull.exchange(true, ordering: .relaxed) {
            logger.warning(
                "Detection is tracking its maximum number of series; new series are stored but not scored",
                metadata: [
                    "detection.maxSeries": "\(configuration.maxSeries)",
                    "device.id": "\(batch.device)",
                    "hint": "raise detection.maxSeries (REFLEX_DETECTION_MAX_SERIES, --detection-max-series)",
                ]
            )
        }
        if !output.scores.isEmpty {
            let count = output.scores.count
            let status = self.status
            let logger = self.logger
            scores.enqueue(TelemetryBatch(device: batch.device, samples: output.scores)) { result in
                guard case .failure(let error) = result else { return }
                status.update { $0.scoresDropped += count }
                logger.debug("Score samples refused", metadata: ["detection.samples": "\(count)", "error": "\(error)"])
            }
        }
        let pending = pendingPoints.withLock { points in
            points += output.points
            return points.count
        }
        for event in output.events { analytics.publish(event) }
        status.record(output.events)
        status.update { counters in
            counters.samplesScored = scored
            counters.samplesUntracked = untracked
            counters.batches += 1
        }
        status.setSeriesCount(seriesCount)
        if pending >= Self.maxPendingPoints { await flushPoints() }
    }

    /// Runs the time-driven data-quality checks now and publishes what they find.
    public func checkQuality() {
        let moment = now()
        let events = engine.withLock { $0.check(now: moment) }
        for event in events { analytics.publish(event) }
        status.record(events)
    }

    /// Writes the buffered band rows in one transaction.
    public func flushPoints() async {
        let points = pendingPoints.withLock { points in
            defer { points = [] }
            return points
        }
        guard !points.isEmpty else { return }
        do {
            try await store.appendAnomalyPoints(points)
        } catch {
            status.update { $0.pointsDropped += points.count }
            logger.warning(
                "Storing anomaly bands failed",
                metadata: ["detection.points": "\(points.count)", "error": "\(error)"]
            )
        }
    }

    /// Writes the state of every series changed since the last checkpoint (all series with
    /// `all`) to the store in one transaction.
    public func checkpoint(all: Bool = false) async {
        let states = engine.withLock { $0.takeCheckpoint(all: all) }
        let moment = now()
        guard !states.isEmpty else {
            status.update { $0.lastCheckpointAt = moment }
            return
        }
        let encoder = Self.encoder
        var encoded: [SeriesKey: Data] = [:]
        for (key, state) in states {
            do {
                encoded[key] = try encoder.encode(state)
            } catch {
                logger.error(
                    "Encoding a detector checkpoint failed",
                    metadata: ["detection.series": "\(key)", "error": "\(error)"]
                )
            }
        }
        do {
            try await store.saveDetectorCheckpoints(encoded, at: moment)
            status.update { counters in
                counters.checkpoints += 1
                counters.lastCheckpointAt = moment
            }
            logger.debug("Checkpointed detectors", metadata: ["detection.series": "\(encoded.count)"])
        } catch {
            engine.withLock { $0.markDirty(states.keys) }
            status.update { $0.checkpointFailures += 1 }
            logger.error(
                "Checkpointing detectors failed; will retry",
                metadata: ["detection.series": "\(encoded.count)", "error": "\(error)"]
            )
        }
    }

    /// Loads the checkpoint: every series whose state was built with the settings the current
    /// configuration gives continues from it; the others start afresh (counted as reset).
    public func restore() async {
        let saved: [SeriesKey: Data]
        do {
            saved = try await store.loadDetectorCheckpoints()
        } catch {
            logger.error("Reading detector checkpoints failed; starting afresh", metadata: ["error": "\(error)"])
            return
        }
        let decoder = Self.decoder
        var restored = 0
        for (key, data) in saved.sorted(by: { $0.key.description < $1.key.description }) {
            guard let state = try? decoder.decode(SeriesDetection.self, from: data) else {
                status.update { $0.statesReset += 1 }
                continue
            }
            let type = await deviceType(of: key.device)
            let adopted = engine.withLock { engine in
                engine.restore(state, for: key, deviceType: type)
                return engine.series[key] != nil
            }
            if adopted {
                status.restore(state, for: key)
                restored += 1
            } else {
                status.update { $0.statesReset += 1 }
            }
        }
        let count = engine.withLock { $0.series.count }
        status.setSeriesCount(count)
        status.update { $0.restoredSeries = restored }
        if !saved.isEmpty {
            logger.info(
                "Restored detector checkpoints",
                metadata: ["detection.restored": "\(restored)", "detection.reset": "\(saved.count - restored)"]
            )
        }
    }

    private func prune() async {
        do {
            let deleted = try await store.pruneAnomalyPoints(now: now())
            if deleted > 0 { logger.info("Pruned anomaly bands", metadata: ["detection.deleted": "\(deleted)"]) }
        } catch {
            logger.warning("Pruning anomaly bands failed", metadata: ["error": "\(error)"])
        }
        // Devices registered since they were first seen get their type on their next new series.
        deviceTypes.withLock { cache in cache = cache.filter { $0.value != nil } }
    }

    /// The registered type of `device` (nil if unknown), cached.
    private func deviceType(of device: DeviceID) async -> String? {
        if let cached = deviceTypes.withLock({ $0[device] }) { return cached }
        let type: String?
        do {
            type = try await devices.device(device)?.type
        } catch {
            logger.warning(
                "Looking up a device type failed; using the defaults",
                metadata: ["device.id": "\(device)", "error": "\(error)"]
            )
            return nil
        }
        deviceTypes.withLock { $0[device] = .some(type) }
        return type
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf",
            negativeInfinity: "-inf",
            nan: "nan"
        )
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf",
            negativeInfinity: "-inf",
            nan: "nan"
        )
        return decoder
    }
}
