import Hummingbird
import Logging
import NIOCore
import ReflexCore
import ReflexNode
import ReflexStore

extension HTTPAPI {
    /// `POST /api/v2/write?org=&bucket=&precision=`: InfluxDB v2 line protocol, as Telegraf's
    /// `outputs.influxdb_v2` sends it.
    ///
    /// `org` and `bucket` are accepted and ignored (Reflex has one sample store). The device of
    /// each line is its `device`, `device_id` or `host` tag (see ``LineProtocolDecoder``); a line
    /// without one is an error, as there is no default device over HTTP. One bad line rejects
    /// the whole request (as InfluxDB does), is kept as a dead letter, and is answered 400 (422
    /// for a timestamp outside the accepted window, 413 over the size limits) in InfluxDB's
    /// error shape. 204 comes only after the store committed every sample; 503 when it is
    /// overloaded, so the client retries. Series limits (``HTTPAPI/seriesGate``) apply as on
    /// MQTT: samples of new series over a limit are kept as a dead letter per device and the rest
    /// is stored; the answer is then 422 `series_limit` (InfluxDB's partial-write status, which
    /// clients such as Telegraf do not retry) saying how many samples were stored and refused.
    func addWriteRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.post("/api/v2/write") { request, context -> Response in
            do {
                return try await api.write(request, context: context)
            } catch let error as APIError {
                if error.status != .unauthorized && error.status != .forbidden { api.writeCounters.rejected() }
                throw error.influx
            } catch let error as SampleStoreError {
                api.writeCounters.rejected()
                throw JSONErrorMiddleware.apiError(for: error, logger: context.logger).influx
            }
        }
    }

    func write(_ request: Request, context: APIRequestContext) async throws -> Response {
        _ = try context.require(.operator)
        let query = QueryParameters(request)
        let precision: LineProtocolDecoder.Precision
        if let text = query.text("precision") {
            guard let parsed = LineProtocolDecoder.Precision(rawValue: text) else {
                throw APIError.badParameter("precision", text, expected: "ns, us, ms or s")
            }
            precision = parsed
        } else {
            precision = .nanoseconds
        }
        let body = try await WriteBody.read(request, limit: configuration.maxBodyBytes)
        let receivedAt = now()
        let limits = TelemetryLimits(
            maxPayloadBytes: configuration.maxBodyBytes,
            maxSamplesPerMessage: configuration.maxSamplesPerWrite
        )
        let output: LineProtocolDecoder.Output
        do {
            output = try body.withUnsafeReadableBytes { raw in
                try LineProtocolDecoder.decode(
                    raw.assumingMemoryBound(to: UInt8.self),
                    defaultDevice: nil,
                    precision: precision,
                    receivedAt: receivedAt,
                    limits: limits
                )
            }
        } catch let error as TelemetryDecodingError {
            await recordDeadLetter(body, reason: "\(error.reasonLabel): \(error)", receivedAt: receivedAt)
            context.logger.debug("Rejected line protocol write", metadata: ["ingest.reason": "\(error.reasonLabel)"])
            throw Self.apiError(for: error)
        }
        var batches = output.batches.filter { !$0.samples.isEmpty }
        var refusals: [String] = []
        var refusedCount = 0
        if let seriesGate {
            for (index, batch) in batches.enumerated() {
                let outcome = seriesGate.admit(batch)
                guard let reason = outcome.reason else { continue }
                batches[index] = outcome.admitted
                refusedCount += outcome.refused.count
                refusals.append("device '\(batch.device)': \(reason)")
                await recordDeadLetter(
                    ByteBuffer(bytes: SeriesGate.payload(of: outcome.refused)),
                    device: batch.device,
                    reason: reason,
                    receivedAt: receivedAt
                )
            }
            batches.removeAll { $0.samples.isEmpty }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // All batches are queued at once so that they share one group commit.
            for batch in batches {
                group.addTask { try await self.samples.append(batch) }
            }
            try await group.waitForAll()
        }
        let sampleCount = batches.reduce(0) { $0 + $1.samples.count }
        guard refusals.isEmpty else {
            context.logger.debug(
                "Line protocol write over a series limit",
                metadata: ["ingest.samples": "\(sampleCount)"]
            )
            throw APIError(
                .unprocessableContent,
                code: "series_limit",
                message:
                    "partial write: \(sampleCount) samples stored, \(refusedCount) refused (kept as dead letters): "
                    + refusals.joined(separator: "; ")
            )
        }
        writeCounters.stored(samples: sampleCount)
        context.logger.debug("Stored line protocol write", metadata: ["ingest.samples": "\(sampleCount)"])
        return Response(status: .noContent)
    }

    /// The status for a decoding error: 413 over size limits, 422 for timestamps outside the
    /// window, 400 for everything else (InfluxDB's answer to a parse error).
    static func apiError(for error: TelemetryDecodingError) -> APIError {
        switch error {
        case .tooLarge, .tooManyValues:
            APIError(.contentTooLarge, code: "too_large", message: "\(error)")
        case .timestampInFuture, .timestampTooOld:
            APIError(.unprocessableContent, code: "invalid", message: "\(error)")
        default:
            APIError(.badRequest, code: "invalid", message: "\(error)")
        }
    }

    /// Keeps a refused body as a dead letter, waiting until it is committed so that the client
    /// can see it as soon as it has its answer. A store failure here is only logged.
    func recordDeadLetter(_ body: ByteBuffer, device: DeviceID? = nil, reason: String, receivedAt: Int64) async {
        let payload = Array(body.readableBytesView)  // the store keeps a bounded prefix and the full size
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<Void, any Error>, Never>) in
            deadLetters.recordDeadLetter(
                receivedAt: receivedAt,
                device: device,
                topic: Self.writeSource,
                reason: reason,
                payload: payload,
                completion: { continuation.resume(returning: $0) }
            )
        }
        if case .failure(let error) = result {
            logger.warning("Could not keep a dead letter", metadata: ["error": "\(error)"])
        }
    }
}
