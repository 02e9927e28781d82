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
/// Input: the store's commit log, never skipped (see `DetectionService+CatchUp.swift`). Each
/// committed batch is a commit-log entry with a sequence number; the service takes them from
/// the store's in-memory ``CommitFeed`` (subscribed in the initialiser, bounded by
/// ``DetectionConfiguration/bufferSize``) and, when the feed missed entries or at start, reads
/// them back from the store in pages. The cursor (the last entry scored) is checkpointed with
/// the detector states, so every committed sample is scored exactly once, in commit order,
/// across bursts and crashes.
///
/// Per batch:
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
/// `detector_checkpoints` with the cursor (and again on graceful shutdown), then the commit log
/// is trimmed up to the cursor; hourly, bands older than the raw retention are deleted. ``run()``
/// restores the checkpoint and catches up from its cursor before it takes live entries.
public final class DetectionService: Service, Sendable {
    /// The configuration the service runs with.
    public let configuration: DetectionConfiguration
    /// What detection found, for the API.
    public let status = DetectionStatus()
    /// Beats once a second from the periodic loop (flush, quality checks, checkpoints), for `/health`.
    public let heartbeat = Heartbeat(interval: .seconds(1))

    private let scores: any SampleStore
    /// Checkpoints and anomaly bands (the HTTP API reads the bands).
    public let store: any DetectionStore
    private let devices: any DeviceDirectory
    private let telemetry: any EventChannel<CommittedTelemetry>
    /// Committed commit-log entries, in memory (the fast path).
    let feed: CommitFeed
    private let analytics: any EventChannel<AnalyticsEvent>
    let engine: Mutex<DetectionEngine>
    private let pendingPoints = Mutex<[(series: SeriesKey, point: AnomalyPoint)]>([])
    private let deviceTypes = Mutex<[DeviceID: String?]>([:])
    /// Whether the "detection is full" warning was logged (once per run).
    private let warnedFull = Atomic<Bool>(false)
    /// The cursor the store holds now (restored or last checkpointed).
    let loadedCursor = Mutex<Int64?>(nil)
    let clock: any Clock<Duration>
    let now: @Sendable () -> Int64
    let logger: Logger
    /// When the service was built, ms since the epoch (lag before the first entry is scored).
    let startedAt: Int64

    /// Band rows buffered before a batch waits for them to be written.
    static let maxPendingPoints = 20_000

    /// - Parameters:
    ///   - configuration: settings per device type and metric, intervals.
    ///   - scores: where the `anomaly:<metric>` series are written (the plain store, not the
    ///     publishing one: scores are not telemetry).
    ///   - store: checkpoints and bands.
    ///   - devices: the registry, for device types.
    ///   - events: the node's streams; the service publishes on `analytics`. (It reads committed
    ///     telemetry from `store`'s commit log, subscribed now, not from `telemetry`.)
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
        self.feed = store.commitFeed(bufferSize: configuration.bufferSize)
        self.analytics = events.analytics
        self.engine = Mutex(DetectionEngine(configuration: configuration))
        self.clock = clock
        let now = now ?? NodeClock.system.now
        self.now = now
        self.startedAt = now()
        self.logger = logger
    }

    /// Telemetry batches lost by a full subscriber buffer of the telemetry channel (another
    /// subscriber's: detection reads the commit log), since start.
    public var telemetryDropped: Int { telemetry.droppedCount }

    /// Commit-log entries that found the in-memory feed full since start (read back from the
    /// store, not lost).
    public var feedOverflows: Int { feed.droppedCount }

    // MARK: - Service

    /// Restores the checkpoint, catches up from its cursor, then scores committed batches until
    /// a graceful shutdown; then writes the pending bands and a last checkpoint.
    public func run() async throws {
        await restore()
        await restoreCursor()
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
            heartbeat.beat(at: now())
            await flushPoints()
            if elapsed % checkEvery == 0 { checkQuality() }
            if elapsed % checkpointEvery == 0 { await checkpoint() }
            if elapsed % pruneEvery == 0 { await prune() }
        }
    }

    // MARK: - Work

    /// Scores one committed batch outside the commit log (the cursor does not move): stores the
    /// scores, queues the band rows, publishes events.
    public func process(_ batch: TelemetryBatch) async {
        let deviceType = await deviceType(for: batch)
        let receivedAt = now()
        let (output, scored, seriesCount, untracked) = engine.withLock { engine in
            let output = engine.process(batch, deviceType: deviceType, receivedAt: receivedAt)
            return (output, engine.samplesScored, engine.series.count, engine.samplesUntracked)
        }
        await finish(batch, output: output, scored: scored, seriesCount: seriesCount, untracked: untracked)
    }

    /// Scores one commit-log entry unless the cursor is already past it, and moves the cursor.
    /// - Returns: whether it was scored (false: a duplicate).
    @discardableResult
    func process(_ entry: CommittedBatch) async -> Bool {
        let deviceType = await deviceType(for: entry.batch)
        let result = engine.withLock { engine in
            engine.process(entry, deviceType: deviceType).map {
                ($0, engine.samplesScored, engine.series.count, engine.samplesUntracked)
            }
        }
        guard let (output, scored, seriesCount, untracked) = result else { return false }
        status.update { $0.lastScoredCommittedAt = entry.committedAt }
        await finish(entry.batch, output: output, scored: scored, seriesCount: seriesCount, untracked: untracked)
        return true
    }

    /// The device type new series of `batch` need (nil when the engine knows all of them).
    private func deviceType(for batch: TelemetryBatch) async -> String? {
        if engine.withLock({ $0.knowsAllSeries(of: batch) }) { return nil }
        return await deviceType(of: batch.device)
    }

    private func finish(
        _ batch: TelemetryBatch,
        output: DetectionEngine.Output,
        scored: Int,
        seriesCount: Int,
        untracked: Int
    ) async {
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
    /// `all`) and the cursor they were taken at to the store in one transaction, then trims
    /// the commit log up to that cursor.
    public func checkpoint(all: Bool = false) async {
        await flushPoints()
        let (states, cursor) = engine.withLock { ($0.takeCheckpoint(all: all), $0.cursor.position) }
        let moment = now()
        let savedCursor = loadedCursor.withLock { $0 }
        guard !states.isEmpty || savedCursor != cursor else {
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
            try await store.saveDetectorCheckpoints(encoded, cursor: cursor, at: moment)
            loadedCursor.withLock { $0 = cursor }
            status.update { counters in
                counters.checkpoints += 1
                counters.lastCheckpointAt = moment
            }
            logger.debug(
                "Checkpointed detectors",
                metadata: ["detection.series": "\(encoded.count)", "detection.cursor": "\(cursor)"]
            )
            await trimLog(through: cursor)
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
