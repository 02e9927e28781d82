import Hummingbird
import ReflexCore
import ReflexNode
import ReflexStore

extension HTTPAPI {
    /// `GET /api/v1/dead-letters?limit=&before=` and `GET /api/v1/ingest/stats`.
    func addOperationsRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.get("/api/v1/dead-letters") { request, context -> DeadLetterListResponse in
            _ = try context.require(.viewer)
            let query = QueryParameters(request)
            let limit = try query.limit(default: 100, cap: api.configuration.maxPageSize)
            let before = try query.integer("before")
            let letters = try await api.deadLetters.deadLetters(limit: limit, before: before)
            return DeadLetterListResponse(
                deadLetters: letters.map {
                    .init(
                        id: $0.id,
                        receivedAt: $0.receivedAt,
                        device: $0.device?.rawValue,
                        topic: $0.topic,
                        reason: $0.reason,
                        payload: String(decoding: $0.payload, as: UTF8.self),
                        payloadSize: $0.payloadSize
                    )
                },
                nextBefore: letters.count == limit ? letters.last?.id : nil
            )
        }
        router.get("/api/v1/ingest/stats") { _, context -> IngestStatsResponse in
            _ = try context.require(.viewer)
            let stats = api.queries.ingestStatistics()
            let writes = api.writeStatistics
            return IngestStatsResponse(
                store: .init(
                    samplesCommitted: stats.samplesCommitted,
                    messagesCommitted: stats.messagesCommitted,
                    deadLettersCommitted: stats.deadLettersCommitted,
                    commits: stats.commits,
                    failedCommits: stats.failedCommits,
                    messagesRejected: stats.messagesRejected,
                    pendingSamples: stats.pendingSamples
                ),
                mqtt: api.ingestCounters.map { counters in
                    let value = counters()
                    return .init(
                        messages: value.messages,
                        samples: value.samples,
                        rejectedMessages: value.rejectedMessages,
                        samplesOverLimit: value.samplesOverLimit
                    )
                },
                http: .init(
                    requests: writes.requests,
                    samples: writes.samples,
                    rejectedRequests: writes.rejectedRequests,
                    connections: api.connectionStatistics
                ),
                series: api.seriesGate.map { gate in
                    let counters = gate.counters
                    return .init(
                        series: counters.series,
                        newSeries: counters.newSeries,
                        samplesRefused: counters.samplesRefused,
                        messagesRefused: counters.messagesRefused,
                        messagesPartlyRefused: counters.messagesPartlyRefused,
                        refusedByLimit: Dictionary(
                            uniqueKeysWithValues: counters.refusedByLimit.map { ($0.key.rawValue, $0.value) }
                        ),
                        maxSeriesPerDevice: gate.limits.maxSeriesPerDevice,
                        maxSeries: gate.limits.maxSeries,
                        maxNewSeriesPerMinute: gate.limits.maxNewSeriesPerMinute,
                        maxNewSeriesPerMinutePerNode: gate.limits.maxNewSeriesPerMinutePerNode
                    )
                }
            )
        }
    }
}
