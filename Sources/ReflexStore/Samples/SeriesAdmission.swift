public import ReflexCore

/// Decides which samples of a batch may be stored under ``SeriesLimits``: samples of known series
/// always pass; a sample of a new series passes only while its device is under its series limit,
/// the node under its own, and both the device and the node have a token left for a new series
/// this minute.
///
/// Pure and deterministic: the caller passes the time and keeps the value under its lock (the
/// ingest path runs it for every message on the broker's event loops, and HTTP writes too).
/// Start it from the store's catalog (``SQLiteSampleStore/seriesKeys()``) so that a restart counts
/// the series that already exist. A series counts from the moment it is admitted (before its
/// commit), so concurrent messages cannot overshoot a limit.
/// - Complexity: O(samples) per batch: one hash lookup of the device, one of each metric. A batch
///   whose series are all known allocates nothing (its sample array is returned as is).
public struct SeriesAdmission: Sendable {
    /// Which limit refused a sample.
    public enum Limit: String, Sendable, Hashable, CaseIterable {
        /// ``SeriesLimits/maxSeriesPerDevice``.
        case seriesPerDevice
        /// ``SeriesLimits/maxSeries``.
        case seriesPerNode
        /// ``SeriesLimits/maxNewSeriesPerMinute``.
        case newSeriesPerMinute
        /// ``SeriesLimits/maxNewSeriesPerMinutePerNode``.
        case newSeriesPerMinutePerNode
    }

    /// What became of one batch.
    public struct Decision: Sendable, Equatable {
        /// The samples to store, in their order.
        public var admitted: [Sample]
        /// The samples refused, in their order.
        public var refused: [Sample]
        /// The limits that refused samples, each once, in the order they were hit.
        public var limits: [Limit]
        /// How many new series were admitted.
        public var newSeries: Int

        /// Whether every sample was admitted.
        public var isComplete: Bool { refused.isEmpty }
    }

    private struct DeviceSeries: Sendable {
        var metrics: Set<MetricName> = []
        var bucket: TokenBucket
    }

    /// New-series tokens left (up to a per-minute limit), as of `refilledAt`.
    private struct TokenBucket: Sendable {
        let perMinute: Int
        var tokens: Double
        var refilledAt: Int64?

        init(perMinute: Int) {
            self.perMinute = perMinute
            self.tokens = Double(perMinute)
        }

        /// Adds the tokens earned since the last refill: `perMinute` per 60 s, capped there.
        mutating func refill(at now: Int64) {
            let capacity = Double(perMinute)
            defer { refilledAt = max(now, refilledAt ?? now) }
            guard let last = refilledAt, now > last else { return }
            tokens = min(capacity, tokens + Double(now - last) * capacity / 60_000)
        }
    }

    /// The limits in force.
    public let limits: SeriesLimits
    private var devices: [DeviceID: DeviceSeries] = [:]
    private var nodeBucket: TokenBucket
    /// Device series known, over all devices.
    public private(set) var seriesCount = 0

    /// - Parameters:
    ///   - limits: the limits to enforce.
    ///   - existing: the series already stored; the node's own (reserved prefixes) are skipped.
    ///     Existing series count against the limits even beyond them (nothing is dropped), so a
    ///     lowered limit only stops new series.
    public init(limits: SeriesLimits, existing: some Sequence<SeriesKey>) {
        self.limits = limits
        self.nodeBucket = TokenBucket(perMinute: limits.maxNewSeriesPerMinutePerNode)
        for key in existing where !ReservedMetricNames.isReserved(key.metric) {
            if devices[key.device, default: DeviceSeries(bucket: TokenBucket(perMinute: limits.maxNewSeriesPerMinute))]
                .metrics.insert(key.metric).inserted
            {
                seriesCount += 1
            }
        }
    }

    /// Devices with at least one series (the only ones the admission keeps state for).
    public var deviceCount: Int { devices.count }

    /// The number of series `device` has.
    public func seriesCount(of device: DeviceID) -> Int { devices[device]?.metrics.count ?? 0 }

    /// Splits `batch` into the samples to store and those refused.
    /// - Parameter now: the time in ms since the epoch (refills the per-minute tokens).
    public mutating func admit(_ batch: TelemetryBatch, at now: Int64) -> Decision {
        if let known = devices[batch.device]?.metrics,
            batch.samples.allSatisfy({ known.contains($0.metric) })
        {
            return Decision(admitted: batch.samples, refused: [], limits: [], newSeries: 0)
        }
        var state =
            devices.removeValue(forKey: batch.device)
            ?? DeviceSeries(bucket: TokenBucket(perMinute: limits.maxNewSeriesPerMinute))
        state.bucket.refill(at: now)
        nodeBucket.refill(at: now)
        var decision = Decision(admitted: [], refused: [], limits: [], newSeries: 0)
        decision.admitted.reserveCapacity(batch.samples.count)
        for sample in batch.samples {
            if state.metrics.contains(sample.metric) {
                decision.admitted.append(sample)
                continue
            }
            let refusal: Limit? =
                if state.metrics.count >= limits.maxSeriesPerDevice {
                    .seriesPerDevice
                } else if seriesCount >= limits.maxSeries {
                    .seriesPerNode
                } else if state.bucket.tokens < 1 {
                    .newSeriesPerMinute
                } else if nodeBucket.tokens < 1 {
                    .newSeriesPerMinutePerNode
                } else {
                    nil
                }
            if let refusal {
                decision.refused.append(sample)
                if !decision.limits.contains(refusal) { decision.limits.append(refusal) }
                continue
            }
            state.metrics.insert(sample.metric)
            state.bucket.tokens -= 1
            nodeBucket.tokens -= 1
            seriesCount += 1
            decision.newSeries += 1
            decision.admitted.append(sample)
        }
        // A device with no series keeps no state: a stream of refused writes naming ever new devices
        // (HTTP lines may name any device) cannot grow the table.
        if !state.metrics.isEmpty { devices[batch.device] = state }
        return decision
    }
}
