public import ReflexCore
import Synchronization

/// What live detection shows to the API: the latest verdict of every series, the data-quality
/// conditions active now and the most recent data-quality events, and counters.
///
/// Updated by ``DetectionService`` after each batch; read by the HTTP routes. A `Mutex` guards
/// it: every operation is a few dictionary accesses.
public final class DetectionStatus: Sendable {
    /// How many recent data-quality events are kept.
    public static let recentLimit = 500

    /// Counters since start.
    public struct Counters: Sendable, Hashable, Codable {
        /// Samples that got a score.
        public var samplesScored = 0
        /// Telemetry batches processed.
        public var batches = 0
        /// Score samples the store refused (overloaded or failed).
        public var scoresDropped = 0
        /// Band rows that could not be stored.
        public var pointsDropped = 0
        /// Anomaly events published.
        public var anomalyEvents = 0
        /// Data-quality events published.
        public var dataQualityEvents = 0
        /// Checkpoints written, and failed.
        public var checkpoints = 0
        public var checkpointFailures = 0
        /// Checkpointed states dropped at start because the configuration or format changed.
        public var statesReset = 0
        /// ms since the epoch of the last successful checkpoint.
        public var lastCheckpointAt: Int64?
        /// Series restored from the last checkpoint at start.
        public var restoredSeries = 0
        /// Samples not scored because their series is new and `detection.maxSeries` series
        /// already have a detector.
        public var samplesUntracked = 0
        /// Catch-ups from the commit log started (at start, or after the live feed missed entries).
        public var catchUps = 0
        /// Commit-log entries (batches) and their samples read back from the store by catch-up.
        public var batchesReplayed = 0
        public var samplesReplayed = 0
        /// Whether a catch-up is running now.
        public var isCatchingUp = false
        /// How long the last finished catch-up took, in seconds, and how many batches it read.
        public var lastCatchUpSeconds: Double?
        public var lastCatchUpBatches = 0
        /// Commit-log entries that could not be decoded (logged as errors, passed over), and
        /// failed reads of the log (retried).
        public var unreadableEntries = 0
        public var logReadFailures = 0
        /// Failed deletions of checkpointed entries from the commit log (retried at the next checkpoint).
        public var logTrimFailures = 0
        /// When the newest scored commit-log entry was committed, ms since the epoch.
        public var lastScoredCommittedAt: Int64?
    }

    private struct State {
        var latest: [DeviceID: [MetricName: AnomalyEvent]] = [:]
        var active: [SeriesKey: [DataQualityEvent]] = [:]
        var recent: [DataQualityEvent] = []
        var recentStart = 0
        var counters = Counters()
        var seriesCount = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// The latest verdict of every scored metric of `device`.
    public func latest(device: DeviceID) -> [MetricName: AnomalyEvent] {
        state.withLock { $0.latest[device] ?? [:] }
    }

    /// Active conditions (optionally of one device), oldest first.
    public func activeQuality(device: DeviceID? = nil) -> [DataQualityEvent] {
        state.withLock { state in
            state.active.filter { device == nil || $0.key.device == device }.values.flatMap { $0 }
        }
        .sorted { ($0.timestamp, $0.series.description) < ($1.timestamp, $1.series.description) }
    }

    /// Recent data-quality events (optionally of one device), newest first.
    public func recentQuality(device: DeviceID? = nil) -> [DataQualityEvent] {
        state.withLock { state in
            let ordered = Array(state.recent[state.recentStart...] + state.recent[..<state.recentStart])
            return ordered.reversed().filter { device == nil || $0.series.device == device }
        }
    }

    /// The counters now.
    public var counters: Counters { state.withLock { $0.counters } }

    /// How many series detection tracks.
    public var seriesCount: Int { state.withLock { $0.seriesCount } }

    // MARK: - Updates (DetectionService)

    func record(_ events: [AnalyticsEvent]) {
        guard !events.isEmpty else { return }
        state.withLock { state in
            for event in events {
                switch event {
                case .anomaly(let anomaly):
                    // The newest sample's verdict; a late (out-of-order) sample does not replace it.
                    let known = state.latest[anomaly.series.device]?[anomaly.series.metric]
                    if (known?.timestamp ?? .min) <= anomaly.timestamp {
                        state.latest[anomaly.series.device, default: [:]][anomaly.series.metric] = anomaly
                    }
                    state.counters.anomalyEvents += 1
                case .dataQuality(let quality):
                    var active = state.active[quality.series] ?? []
                    active.removeAll { $0.kind == quality.kind }
                    if quality.isActive { active.append(quality) }
                    state.active[quality.series] = active.isEmpty ? nil : active
                    if state.recent.count < Self.recentLimit {
                        state.recent.append(quality)
                    } else {
                        state.recent[state.recentStart] = quality
                        state.recentStart = (state.recentStart + 1) % Self.recentLimit
                    }
                    state.counters.dataQualityEvents += 1
                }
            }
        }
    }

    func restore(_ detection: SeriesDetection, for key: SeriesKey) {
        state.withLock { state in
            if let latest = detection.latest { state.latest[key.device, default: [:]][key.metric] = latest }
            if !detection.activeQuality.isEmpty { state.active[key] = detection.activeQuality }
        }
    }

    func update(_ body: (inout Counters) -> Void) {
        state.withLock { body(&$0.counters) }
    }

    func setSeriesCount(_ count: Int) {
        state.withLock { $0.seriesCount = count }
    }
}
