import Foundation
public import Logging
public import ReflexCore
public import ReflexStore
import Synchronization

/// The node's one ``SeriesAdmission``, shared by every path that creates series (MQTT telemetry
/// and `POST /api/v2/write`), with what happens around a refusal: the counters, a notice in the
/// log at most once per device per minute, and a ``SeriesLimitBreach`` for the alarm
/// (``SeriesLimitAlarmService`` raises it in automation), at most once per device and limit per
/// minute.
///
/// A `Mutex` guards the admission: a decision is a few hash lookups, and a batch whose series
/// are all known allocates nothing.
public final class SeriesGate: Sendable {
    /// What the gate refused and admitted so far.
    public struct Counters: Sendable, Equatable {
        /// Samples refused by a series limit.
        public var samplesRefused = 0
        /// Messages (or write requests) of which nothing was admitted.
        public var messagesRefused = 0
        /// Messages of which some samples were admitted and others refused.
        public var messagesPartlyRefused = 0
        /// Messages (or write requests) with samples refused, by the limit that refused them (a
        /// message refused by two limits counts under both).
        public var refusedByLimit: [SeriesAdmission.Limit: Int] = [:]
        /// New series admitted since start.
        public var newSeries = 0
        /// Device series known now (the `anomaly:` score series are not counted).
        public var series = 0
    }

    /// What one batch became.
    public struct Outcome: Sendable {
        /// The samples to store (all of them, usually).
        public var admitted: TelemetryBatch
        /// The samples refused.
        public var refused: [Sample]
        /// Why they were refused: the limit, its value and the setting that raises it; nil
        /// when nothing was refused.
        public var reason: String?
    }

    /// The limits in force.
    public let limits: SeriesLimits
    /// Breaches to raise alarms for (bounded; the newest 1,000 are kept when nobody reads).
    public let breaches: AsyncStream<SeriesLimitBreach>
    private let breachInput: AsyncStream<SeriesLimitBreach>.Continuation
    private let state: Mutex<State>
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let howToRaise: @Sendable (SeriesAdmission.Limit) -> String

    private struct State {
        var admission: SeriesAdmission
        var counters = Counters()
        var lastNotice: [DeviceID: Int64] = [:]
        var lastBreach: [SeriesLimitBreach.Key: Int64] = [:]
    }

    /// How often a device's refusals are logged, and each (device, limit) breach reported.
    static let reportInterval: Int64 = 60_000
    /// Past this many remembered report times, those older than ``reportInterval`` are forgotten.
    static let reportMemory = 10_000

    /// - Parameters:
    ///   - limits: the limits to enforce.
    ///   - existing: the series already stored (``SampleMaintenance/seriesKeys()``).
    ///   - logger: where refusals are noted.
    ///   - now: the time in ms since the epoch (a parameter for tests).
    ///   - howToRaise: where a limit is set, for refusal messages ("--max-series, env ... or
    ///     ingest.maxSeries in the config file").
    public init(
        limits: SeriesLimits,
        existing: some Sequence<SeriesKey>,
        logger: Logger,
        now: (@Sendable () -> Int64)? = nil,
        howToRaise: @escaping @Sendable (SeriesAdmission.Limit) -> String = { _ in "the node's ingest settings" }
    ) {
        self.howToRaise = howToRaise
        self.limits = limits
        let admission = SeriesAdmission(limits: limits, existing: existing)
        var initial = State(admission: admission)
        initial.counters.series = admission.seriesCount
        state = Mutex(initial)
        self.logger = logger
        self.now = now ?? NodeClock.system.now
        (breaches, breachInput) = AsyncStream.makeStream(
            of: SeriesLimitBreach.self,
            bufferingPolicy: .bufferingNewest(1_000)
        )
    }

    /// The counters now.
    public var counters: Counters { state.withLock { $0.counters } }

    /// Splits `batch` into what may be stored and what is refused, counting, logging and
    /// reporting refusals.
    public func admit(_ batch: TelemetryBatch) -> Outcome {
        let time = now()
        let (decision, count, notify, breaches) = state.withLock { state in
            let decision = state.admission.admit(batch, at: time)
            guard !decision.isComplete || decision.newSeries > 0 else {
                return (decision, 0, false, [SeriesLimitBreach]())
            }
            state.counters.newSeries += decision.newSeries
            state.counters.series = state.admission.seriesCount
            guard !decision.isComplete else { return (decision, 0, false, []) }
            state.counters.samplesRefused += decision.refused.count
            if decision.admitted.isEmpty {
                state.counters.messagesRefused += 1
            } else {
                state.counters.messagesPartlyRefused += 1
            }
            let device = state.admission.seriesCount(of: batch.device)
            var breaches: [SeriesLimitBreach] = []
            for limit in decision.limits {
                state.counters.refusedByLimit[limit, default: 0] += 1
                let key = SeriesLimitBreach.Key(device: batch.device, limit: limit)
                if let last = state.lastBreach[key], time - last < Self.reportInterval { continue }
                state.lastBreach[key] = time
                breaches.append(
                    SeriesLimitBreach(
                        device: batch.device,
                        limit: limit,
                        value: value(of: limit),
                        at: time,
                        message: describe(limit, device: batch.device, deviceSeries: device)
                    )
                )
            }
            if state.lastNotice.count > Self.reportMemory || state.lastBreach.count > Self.reportMemory {
                state.lastNotice = state.lastNotice.filter { time - $0.value < Self.reportInterval }
                state.lastBreach = state.lastBreach.filter { time - $0.value < Self.reportInterval }
            }
            let notify: Bool
            if let last = state.lastNotice[batch.device], time - last < Self.reportInterval {
                notify = false
            } else {
                state.lastNotice[batch.device] = time
                notify = true
            }
            return (decision, device, notify, breaches)
        }
        guard !decision.isComplete else {
            return Outcome(admitted: batch, refused: [], reason: nil)
        }
        let reason = refusalReason(decision, device: batch.device, deviceSeries: count)
        if notify {
            logger.notice(
                "Refused samples of new series over a series limit",
                metadata: [
                    "device.id": "\(batch.device)",
                    "ingest.limits": "\(decision.limits.map(\.rawValue).joined(separator: ","))",
                    "ingest.samplesRefused": "\(decision.refused.count)",
                    "ingest.samplesAdmitted": "\(decision.admitted.count)",
                    "ingest.reason": "\(reason)",
                ]
            )
        }
        for breach in breaches { breachInput.yield(breach) }
        return Outcome(
            admitted: TelemetryBatch(device: batch.device, samples: decision.admitted),
            refused: decision.refused,
            reason: reason
        )
    }

    /// The value of `limit` in force.
    func value(of limit: SeriesAdmission.Limit) -> Int {
        switch limit {
        case .seriesPerDevice: limits.maxSeriesPerDevice
        case .seriesPerNode: limits.maxSeries
        case .newSeriesPerMinute: limits.maxNewSeriesPerMinute
        case .newSeriesPerMinutePerNode: limits.maxNewSeriesPerMinutePerNode
        }
    }

    /// "device 'pumpA' has 5 series, the most one device may have (ingest.maxSeriesPerDevice = 5;
    /// raise it with ...)".
    func describe(_ limit: SeriesAdmission.Limit, device: DeviceID, deviceSeries: Int) -> String {
        let value = value(of: limit)
        switch limit {
        case .seriesPerDevice:
            return "device '\(device)' has \(deviceSeries) series, the most one device may have "
                + "(limit \(value); raise it with \(howToRaise(limit)))"
        case .seriesPerNode:
            return "the node has \(value) device series, the most it keeps "
                + "(limit \(value); raise it with \(howToRaise(limit)))"
        case .newSeriesPerMinute:
            return "device '\(device)' created new series faster than \(value) per minute "
                + "(limit \(value); raise it with \(howToRaise(limit)))"
        case .newSeriesPerMinutePerNode:
            return "the node's devices together created new series faster than \(value) per minute "
                + "(limit \(value); raise it with \(howToRaise(limit)))"
        }
    }

    /// The refused samples as a telemetry JSON payload (`[{"ts": ..., "values": {...}}, ...]`, one
    /// object per timestamp, in order), which the device's topic accepts again once the limit is
    /// raised; kept as the dead letter's payload. At most the first 1,000 samples (the dead letter
    /// keeps a bounded prefix anyway, and its reason gives the count).
    public static func payload(of samples: [Sample]) -> [UInt8] {
        var groups: [(timestamp: Int64, values: [String])] = []
        for sample in samples.prefix(1_000) {
            let value = "\"\(sample.metric)\": \(sample.value)"
            if let last = groups.indices.last, groups[last].timestamp == sample.timestamp {
                groups[last].values.append(value)
            } else {
                groups.append((sample.timestamp, [value]))
            }
        }
        let objects = groups.map { #"{"ts": \#($0.timestamp), "values": {\#($0.values.joined(separator: ", "))}}"# }
        return Array("[\(objects.joined(separator: ", "))]".utf8)
    }

    private func refusalReason(_ decision: SeriesAdmission.Decision, device: DeviceID, deviceSeries: Int) -> String {
        var names: [String] = []
        var seen: Set<MetricName> = []
        for sample in decision.refused where seen.insert(sample.metric).inserted && names.count < 10 {
            names.append("'\(sample.metric)'")
        }
        let more = seen.count > names.count ? " and \(seen.count - names.count) more" : ""
        let limits = decision.limits.map { describe($0, device: device, deviceSeries: deviceSeries) }
        let count = decision.refused.count
        return
            "series_limit: \(count) sample\(count == 1 ? "" : "s") of new metrics \(names.joined(separator: ", "))\(more) "
            + "refused: \(limits.joined(separator: "; "))"
    }
}

/// A series limit that refused samples of a device, reported for an alarm.
public struct SeriesLimitBreach: Sendable, Equatable {
    struct Key: Hashable {
        var device: DeviceID
        var limit: SeriesAdmission.Limit
    }

    /// The device whose samples were refused.
    public var device: DeviceID
    /// The limit.
    public var limit: SeriesAdmission.Limit
    /// Its value.
    public var value: Int
    /// When it refused them, ms since the epoch.
    public var at: Int64
    /// The explanation, naming the setting that raises it.
    public var message: String

    /// The alarm type: `series_limit.<limit>`, one open alarm per device and limit.
    public var alarmType: String { "series_limit.\(limit.rawValue)" }
}
