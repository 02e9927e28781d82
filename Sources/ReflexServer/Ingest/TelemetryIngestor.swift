import Foundation
public import NIOCore
public import ReflexCore
public import ReflexMQTT
public import ReflexStore
import Synchronization

/// Turns telemetry that devices publish on `devices/{id}/telemetry` into stored samples.
///
/// It sits in the broker as its ``PublishInterceptor``: the payload (JSON or InfluxDB line
/// protocol) is decoded and validated on the broker's event loop (well under a microsecond per
/// value), queued for the store's next group commit, and a QoS 1/2 PUBLISH is acknowledged only
/// when that commit is durable. A payload that fails validation is kept as a dead letter with
/// the reason, counted, and refused with PUBACK 0x99 (v5); the connection stays up. Other topics
/// pass through untouched (they are still routed to subscribers).
public final class TelemetryIngestor: PublishInterceptor {
    let store: any SampleStore
    let deadLetters: any DeadLetterStore
    let limits: TelemetryLimits
    let now: @Sendable () -> Int64
    private let counters = Mutex(IngestCounters())

    /// - Parameters:
    ///   - store: where samples go.
    ///   - deadLetters: where refused payloads are kept.
    ///   - limits: payload size, values per message, timestamp skew.
    ///   - now: the receive time in milliseconds since the epoch (default: the system clock; a
    ///     parameter for tests).
    public init(
        store: any SampleStore,
        deadLetters: any DeadLetterStore,
        limits: TelemetryLimits = .default,
        now: (@Sendable () -> Int64)? = nil
    ) {
        self.store = store
        self.deadLetters = deadLetters
        self.limits = limits
        self.now = now ?? { Int64(Date().timeIntervalSince1970 * 1000) }
    }

    /// At most this much of a refused payload is copied toward the dead-letter store (which
    /// keeps a shorter prefix of its own).
    static let deadLetterCopyLimit = 65_536

    /// What was ingested and refused so far.
    public var statistics: IngestCounters { counters.withLock { $0 } }

    public func intercept(_ publish: InterceptedPublish, eventLoop: any EventLoop) -> PublishDisposition {
        guard case .telemetry(let device)? = DeviceTopic(publish.topic) else { return .accept }
        let batch: TelemetryBatch
        do {
            batch = try decode(publish.payload, device: device)
        } catch {
            let reason = (error as? TelemetryDecodingError)?.reasonLabel ?? "invalid"
            counters.withLock { $0.rejectedMessages += 1 }
            deadLetters.recordDeadLetter(
                receivedAt: now(),
                device: device,
                topic: publish.topic,
                reason: "\(reason): \(error)",
                payload: Array(publish.payload.readableBytesView.prefix(Self.deadLetterCopyLimit)),
                completion: { _ in }
            )
            return .reject(.payloadFormatInvalid)
        }
        counters.withLock {
            $0.messages += 1
            $0.samples += batch.samples.count
        }
        guard publish.qos != .atMostOnce else {
            store.enqueue(batch) { _ in }  // QoS 0 is best effort
            return .accept
        }
        let promise = eventLoop.makePromise(of: ReasonCode.self)
        store.enqueue(batch) { result in
            switch result {
            case .success: promise.succeed(.success)
            case .failure: promise.succeed(.unspecifiedError)
            }
        }
        return .acceptAfter(promise.futureResult)
    }

    /// Decodes JSON (a payload starting with `{` or `[`) or line protocol. Line protocol may name
    /// devices in tags; a device may only write its own samples.
    func decode(_ payload: ByteBuffer, device: DeviceID) throws -> TelemetryBatch {
        let receivedAt = now()
        let limits = self.limits
        return try payload.withUnsafeReadableBytes { raw -> TelemetryBatch in
            let first = raw.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
            if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                return try JSONTelemetryDecoder.decode(raw, device: device, receivedAt: receivedAt, limits: limits)
            }
            let output = try LineProtocolDecoder.decode(
                raw,
                defaultDevice: device,
                precision: .nanoseconds,
                receivedAt: receivedAt,
                limits: limits
            )
            var samples: [Sample] = []
            for batch in output.batches {
                guard batch.device == device else {
                    throw IngestError("line protocol names device '\(batch.device)' on the topic of '\(device)'")
                }
                samples.append(contentsOf: batch.samples)
            }
            return TelemetryBatch(device: device, samples: samples)
        }
    }
}

/// Counts of the ingest path.
public struct IngestCounters: Sendable, Equatable {
    public var messages = 0
    public var samples = 0
    public var rejectedMessages = 0
}

/// A refusal of the ingest path that is not a decoding error.
struct IngestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
