import Foundation
import Hummingbird
import ReflexCore
import ReflexNode
import ReflexStore

extension HTTPAPI {
    /// The detection routes (see `docs/api.md`, section Detection): the latest verdict per metric
    /// of a device, the scored history of one metric with its band, data-quality conditions and
    /// the detection counters. All need role viewer. Without a detection service (detection
    /// off) they answer 404 `detection_off`, except the stats, which say `"enabled": false`.
    func addDetectionRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.get("/api/v1/devices/:id/anomalies") { _, context -> LatestAnomaliesResponse in
            _ = try context.require(.viewer)
            let id = try Self.deviceID(context)
            let detection = try api.requireDetection()
            let latest = detection.status.latest(device: id)
            if latest.isEmpty { try await api.requireKnown(id) }
            return LatestAnomaliesResponse(
                device: id.rawValue,
                metrics: latest.sorted { $0.key < $1.key }.map { LatestAnomaliesResponse.Metric($0.value) }
            )
        }
        router.get("/api/v1/devices/:id/anomalies/:metric") { request, context -> AnomalyHistoryResponse in
            _ = try context.require(.viewer)
            let key = SeriesKey(device: try Self.deviceID(context), metric: try Self.metricName(context))
            let detection = try api.requireDetection()
            let query = QueryParameters(request)
            let now = api.now()
            let to = try Self.detectionTime(query, "to", now: now) ?? now + 1
            let from = try Self.detectionTime(query, "from", now: now) ?? to - 3_600_000
            guard from < to else {
                throw APIError(
                    .badRequest,
                    code: "invalid_parameter",
                    message: "parameter 'from' (\(from)) must be before 'to' (\(to))"
                )
            }
            let limit = try query.limit(default: Self.defaultPageSize, cap: api.configuration.maxPageSize)
            var points = try await detection.store.anomalyPoints(key, from: from, to: to, limit: limit + 1)
            var stepMs: Int64?
            if points.count > limit {
                // Too many for one answer: one point per bucket, at most `limit` buckets.
                let step = max(1, (to - from + Int64(limit) - 1) / Int64(limit))
                stepMs = step
                points = try await detection.store.anomalyBuckets(key, from: from, to: to, step: step)
            }
            return AnomalyHistoryResponse(
                device: key.device.rawValue,
                metric: key.metric.rawValue,
                from: from,
                to: to,
                stepMs: stepMs,
                points: points.map(AnomalyHistoryResponse.Point.init)
            )
        }
        router.get("/api/v1/data-quality") { request, context -> DataQualityResponse in
            _ = try context.require(.viewer)
            let detection = try api.requireDetection()
            let query = QueryParameters(request)
            let device = try query.text("device").map { text in
                do {
                    return try DeviceID(validating: text)
                } catch {
                    throw APIError.badParameter("device", text, expected: "a device id")
                }
            }
            return DataQualityResponse(
                active: detection.status.activeQuality(device: device).map(DataQualityEventResponse.init),
                recent: detection.status.recentQuality(device: device).map(DataQualityEventResponse.init)
            )
        }
        router.get("/api/v1/detection/stats") { _, context -> DetectionStatsResponse in
            _ = try context.require(.viewer)
            guard let detection = api.detection else { return DetectionStatsResponse(enabled: false) }
            return DetectionStatsResponse(detection)
        }
    }

    func requireDetection() throws -> DetectionService {
        guard let detection else {
            throw APIError(
                .notFound,
                code: "detection_off",
                message: "detection is off on this node; turn it on with detection.enabled: true "
                    + "(REFLEX_DETECTION_ENABLED, --detection-enabled)"
            )
        }
        return detection
    }

    /// A time as ms since the epoch, RFC 3339, or relative to now: `1h` means an hour ago.
    static func detectionTime(_ query: QueryParameters, _ name: String, now: Int64) throws -> Int64? {
        guard let text = query.text(name) else { return nil }
        if let ago = QueryParameters.parseStep(text) { return now - ago }
        if let time = QueryParameters.parseTime(text) { return time }
        throw APIError.badParameter(
            name,
            text,
            expected: "milliseconds since the epoch, an RFC 3339 time or a duration back from now such as 1h"
        )
    }
}

// MARK: - Bodies

/// `GET /api/v1/devices/{id}/anomalies`
struct LatestAnomaliesResponse: ResponseEncodable {
    struct Metric: Encodable {
        var metric: String
        var ts: Int64
        var value: Double
        var score: Double
        var expected: Double?
        var lower: Double?
        var upper: Double?
        var component: String
        var deviation: Double

        init(_ event: AnomalyEvent) {
            let explanation = event.anomaly.explanation
            metric = event.series.metric.rawValue
            ts = event.timestamp
            value = event.value
            score = event.score
            expected = explanation.expected.flatMap(finite)
            lower = explanation.lower.flatMap(finite)
            upper = explanation.upper.flatMap(finite)
            component = explanation.component
            deviation = finite(explanation.deviation) ?? 0
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(metric, forKey: .metric)
            try container.encode(ts, forKey: .ts)
            try container.encode(value, forKey: .value)
            try container.encode(score, forKey: .score)
            try container.encode(expected, forKey: .expected)
            try container.encode(lower, forKey: .lower)
            try container.encode(upper, forKey: .upper)
            try container.encode(component, forKey: .component)
            try container.encode(deviation, forKey: .deviation)
        }

        enum CodingKeys: String, CodingKey {
            case metric, ts, value, score, expected, lower, upper, component, deviation
        }
    }

    var device: String
    var metrics: [Metric]
}

/// `GET /api/v1/devices/{id}/anomalies/{metric}`
struct AnomalyHistoryResponse: ResponseEncodable {
    struct Point: Encodable {
        var point: AnomalyPoint

        init(_ point: AnomalyPoint) { self.point = point }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(point.timestamp, forKey: .ts)
            try container.encode(point.value, forKey: .value)
            try container.encode(point.score, forKey: .score)
            try container.encode(point.expected, forKey: .expected)
            try container.encode(point.lower, forKey: .lower)
            try container.encode(point.upper, forKey: .upper)
            if point.count > 1 { try container.encode(point.count, forKey: .count) }
        }

        enum CodingKeys: String, CodingKey {
            case ts, value, score, expected, lower, upper, count
        }
    }

    var device: String
    var metric: String
    var from: Int64
    var to: Int64
    /// The bucket width when the points are downsampled, else null.
    var stepMs: Int64?
    var points: [Point]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(device, forKey: .device)
        try container.encode(metric, forKey: .metric)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(stepMs, forKey: .stepMs)
        try container.encode(points, forKey: .points)
    }

    enum CodingKeys: String, CodingKey {
        case device, metric, from, to, stepMs, points
    }
}

/// A ``DataQualityEvent`` on the wire.
struct DataQualityEventResponse: Encodable {
    var device: String
    var metric: String
    var kind: String
    var ts: Int64
    var active: Bool
    var detail: String

    init(_ event: DataQualityEvent) {
        device = event.series.device.rawValue
        metric = event.series.metric.rawValue
        kind = event.kind.rawValue
        ts = event.timestamp
        active = event.isActive
        detail = event.detail
    }
}

/// `GET /api/v1/data-quality`
struct DataQualityResponse: ResponseEncodable {
    var active: [DataQualityEventResponse]
    var recent: [DataQualityEventResponse]
}

/// `GET /api/v1/detection/stats`
struct DetectionStatsResponse: ResponseEncodable {
    var enabled: Bool
    var series = 0
    var samplesScored = 0
    var batches = 0
    /// Telemetry batches lost to a full subscriber buffer (any subscriber of the telemetry stream).
    var dropped = 0
    var scoresDropped = 0
    var pointsDropped = 0
    var anomalyEvents = 0
    var dataQualityEvents = 0
    var activeDataQuality = 0
    var checkpoints = 0
    var checkpointFailures = 0
    var lastCheckpointAt: Int64?
    var restoredSeries = 0
    var statesReset = 0
    var checkpointIntervalSeconds: Int64 = 0
    /// Samples not scored because `detection.maxSeries` series already have a detector.
    var samplesUntracked = 0
    /// `detection.maxSeries`.
    var maxSeries = 0
    /// Lag against the commit log (see ``DetectionLag``) and catch-up figures.
    var cursor: Int64 = 0
    var lastCommitted: Int64 = 0
    var batchesBehind: Int64 = 0
    var secondsBehind = 0.0
    var catchingUp = false
    var degraded: String?
    var maxLagSeconds: Int64 = 0
    var catchUps = 0
    var batchesReplayed = 0
    var samplesReplayed = 0
    var lastCatchUpSeconds: Double?
    var lastCatchUpBatches = 0
    /// Entries the in-memory feed had no room for (read back from the store, not lost).
    var feedOverflows = 0
    var unreadableEntries = 0
    var logReadFailures = 0
    var logTrimFailures = 0

    init(enabled: Bool) { self.enabled = enabled }

    init(_ detection: DetectionService) {
        let counters = detection.status.counters
        enabled = true
        series = detection.status.seriesCount
        samplesScored = counters.samplesScored
        batches = counters.batches
        dropped = detection.telemetryDropped
        scoresDropped = counters.scoresDropped
        pointsDropped = counters.pointsDropped
        anomalyEvents = counters.anomalyEvents
        dataQualityEvents = counters.dataQualityEvents
        activeDataQuality = detection.status.activeQuality().count
        checkpoints = counters.checkpoints
        samplesUntracked = counters.samplesUntracked
        maxSeries = detection.configuration.maxSeries
        checkpointFailures = counters.checkpointFailures
        lastCheckpointAt = counters.lastCheckpointAt
        restoredSeries = counters.restoredSeries
        statesReset = counters.statesReset
        checkpointIntervalSeconds = detection.configuration.checkpointInterval.components.seconds
        let lag = detection.lag
        cursor = lag.cursor
        lastCommitted = lag.lastCommitted
        batchesBehind = lag.batchesBehind
        secondsBehind = lag.secondsBehind
        catchingUp = lag.isCatchingUp
        degraded = lag.degradation(limit: detection.configuration.maxLag)
        maxLagSeconds = detection.configuration.maxLag.components.seconds
        catchUps = counters.catchUps
        batchesReplayed = counters.batchesReplayed
        samplesReplayed = counters.samplesReplayed
        lastCatchUpSeconds = counters.lastCatchUpSeconds
        lastCatchUpBatches = counters.lastCatchUpBatches
        feedOverflows = detection.feedOverflows
        unreadableEntries = counters.unreadableEntries
        logReadFailures = counters.logReadFailures
        logTrimFailures = counters.logTrimFailures
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(series, forKey: .series)
        try container.encode(samplesScored, forKey: .samplesScored)
        try container.encode(batches, forKey: .batches)
        try container.encode(dropped, forKey: .dropped)
        try container.encode(scoresDropped, forKey: .scoresDropped)
        try container.encode(pointsDropped, forKey: .pointsDropped)
        try container.encode(anomalyEvents, forKey: .anomalyEvents)
        try container.encode(dataQualityEvents, forKey: .dataQualityEvents)
        try container.encode(activeDataQuality, forKey: .activeDataQuality)
        try container.encode(checkpoints, forKey: .checkpoints)
        try container.encode(checkpointFailures, forKey: .checkpointFailures)
        try container.encode(lastCheckpointAt, forKey: .lastCheckpointAt)
        try container.encode(restoredSeries, forKey: .restoredSeries)
        try container.encode(statesReset, forKey: .statesReset)
        try container.encode(checkpointIntervalSeconds, forKey: .checkpointIntervalSeconds)
        try container.encode(samplesUntracked, forKey: .samplesUntracked)
        try container.encode(maxSeries, forKey: .maxSeries)
        guard enabled else { return }
        var lag = container.nestedContainer(keyedBy: LagKeys.self, forKey: .lag)
        try lag.encode(cursor, forKey: .cursor)
        try lag.encode(lastCommitted, forKey: .lastCommitted)
        try lag.encode(batchesBehind, forKey: .batchesBehind)
        try lag.encode(secondsBehind, forKey: .secondsBehind)
        try lag.encode(catchingUp, forKey: .catchingUp)
        try lag.encode(degraded, forKey: .degraded)
        try lag.encode(maxLagSeconds, forKey: .maxLagSeconds)
        try lag.encode(catchUps, forKey: .catchUps)
        try lag.encode(batchesReplayed, forKey: .batchesReplayed)
        try lag.encode(samplesReplayed, forKey: .samplesReplayed)
        try lag.encode(lastCatchUpSeconds, forKey: .lastCatchUpSeconds)
        try lag.encode(lastCatchUpBatches, forKey: .lastCatchUpBatches)
        try lag.encode(feedOverflows, forKey: .feedOverflows)
        try lag.encode(unreadableEntries, forKey: .unreadableEntries)
        try lag.encode(logReadFailures, forKey: .logReadFailures)
        try lag.encode(logTrimFailures, forKey: .logTrimFailures)
    }

    enum CodingKeys: String, CodingKey {
        case enabled, series, samplesScored, batches, dropped, scoresDropped, pointsDropped, anomalyEvents
        case dataQualityEvents, activeDataQuality, checkpoints, checkpointFailures, lastCheckpointAt
        case restoredSeries, statesReset, checkpointIntervalSeconds, samplesUntracked, maxSeries, lag
    }

    enum LagKeys: String, CodingKey {
        case cursor, lastCommitted, batchesBehind, secondsBehind, catchingUp, degraded, maxLagSeconds
        case catchUps, batchesReplayed, samplesReplayed, lastCatchUpSeconds, lastCatchUpBatches
        case feedOverflows, unreadableEntries, logReadFailures, logTrimFailures
    }
}

private func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
