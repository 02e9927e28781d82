import Hummingbird
import ReflexCore
import ReflexNode
import ReflexStore

extension HTTPAPI {
    /// The series routes under `/api/v1/devices/{id}`: `series`, `latest`,
    /// `series/{metric}/raw` and `series/{metric}/aggregate`.
    ///
    /// Series are found by device id whether or not the device is registered (Telegraf writes
    /// name hosts, not registered devices); `series` and `latest` answer 404 only for a device
    /// that is neither registered nor has data.
    func addSeriesRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.get("/api/v1/devices/:id/series") { _, context -> SeriesListResponse in
            _ = try context.require(.viewer)
            let id = try Self.deviceID(context)
            let series = try await api.queries.series(of: id)
            if series.isEmpty { try await api.requireKnown(id) }
            return SeriesListResponse(
                device: id.rawValue,
                series: series.map {
                    .init(
                        metric: $0.metric.rawValue,
                        count: $0.sampleCount,
                        first: $0.firstTimestamp,
                        last: $0.lastTimestamp
                    )
                }
            )
        }
        router.get("/api/v1/devices/:id/latest") { _, context -> LatestResponse in
            _ = try context.require(.viewer)
            let id = try Self.deviceID(context)
            let latest = api.queries.latest(device: id)
            if latest.isEmpty { try await api.requireKnown(id) }
            var metrics: [String: SampleResponse] = [:]
            for (metric, sample) in latest {
                metrics[metric.rawValue] = SampleResponse(ts: sample.timestamp, value: sample.value)
            }
            return LatestResponse(device: id.rawValue, metrics: metrics)
        }
        router.get("/api/v1/devices/:id/series/:metric/raw") { request, context -> RawSamplesResponse in
            _ = try context.require(.viewer)
            let key = SeriesKey(device: try Self.deviceID(context), metric: try Self.metricName(context))
            let query = QueryParameters(request)
            let range = try query.range(now: api.now(), defaultSpan: Self.defaultRawSpan)
            let limit = try query.limit(default: Self.defaultPageSize, cap: api.configuration.maxPageSize)
            let cursor = try query.integer("cursor")
            let page = try await api.queries.rawRange(key, from: range.from, to: range.to, limit: limit, cursor: cursor)
            return RawSamplesResponse(
                device: key.device.rawValue,
                metric: key.metric.rawValue,
                samples: page.samples.map { SampleResponse(ts: $0.timestamp, value: $0.value) },
                nextCursor: page.nextCursor
            )
        }
        router.get("/api/v1/devices/:id/series/:metric/aggregate") { request, context -> AggregateResponse in
            _ = try context.require(.viewer)
            let key = SeriesKey(device: try Self.deviceID(context), metric: try Self.metricName(context))
            let query = QueryParameters(request)
            let range = try query.range(now: api.now(), defaultSpan: Self.defaultAggregateSpan)
            let step = try query.step(default: .seconds(60))
            let stepMs = step.components.seconds * 1000 + step.components.attoseconds / 1_000_000_000_000_000
            let buckets = (range.to - range.from) / stepMs
            guard buckets <= Int64(api.configuration.maxPageSize) else {
                throw APIError(
                    .badRequest,
                    code: "invalid_parameter",
                    message: "parameter 'step': \(buckets) buckets between 'from' and 'to'; "
                        + "the limit is \(api.configuration.maxPageSize), use a larger step or a shorter range"
                )
            }
            let points = try await api.queries.aggregate(key, from: range.from, to: range.to, step: step)
            return AggregateResponse(
                device: key.device.rawValue,
                metric: key.metric.rawValue,
                from: range.from,
                to: range.to,
                stepMs: stepMs,
                points: points.map {
                    .init(start: $0.start, min: $0.min, max: $0.max, mean: $0.mean, count: $0.count, last: $0.last)
                }
            )
        }
    }

    /// Throws 404 unless `id` is a registered device.
    func requireKnown(_ id: DeviceID) async throws {
        guard try await devices.device(id) != nil else { throw APIError.unknownDevice(id.rawValue) }
    }
}
