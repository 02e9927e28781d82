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
///
/// Series limits (``SeriesGate``): samples of new series over a limit are refused, the rest of
/// the message is stored. The refused samples are kept as one dead letter (in the telemetry JSON
/// shape, so they can be replayed once the limit is raised) whose reason names the limit, its
/// value and the setting. A message of which nothing was admitted is answered PUBACK 0x97 (quota
/// exceeded, v5) and not routed; one partly admitted is answered success: what was stored is
/// acknowledged, and a redelivery would be refused again, so a failure code would only make a
/// client resend what is already stored.
public final class TelemetryIngestor: PublishInterceptor, ClientEventObserver {
    let store: any SampleStore
    let deadLetters: any DeadLetterStore
    let stateRecorder: DeviceStateRecorder?
    let limits: TelemetryLimits
    let seriesGate: SeriesGate?
    let now: @Sendable () -> Int64
    private let counters = Mutex(IngestCounters())

    /// - Parameters:
    ///   - store: where samples go.
    ///   - deadLetters: where refused payloads are kept.
    ///   - stateRecorder: records `devices/{id}/state`, `devices/{id}/status` and the connect and
    ///     disconnect of device clients; nil ignores them.
    ///   - limits: payload size, values per message, timestamp skew.
    ///   - seriesGate: the series limits (shared with the HTTP write route); nil: no limits.
    ///   - now: the receive time in milliseconds since the epoch (default: the system clock; a
    ///     parameter for tests).
    public init(
        store: any SampleStore,
        deadLetters: any DeadLetterStore,
        stateRecorder: DeviceStateRecorder? = nil,
        limits: TelemetryLimits = .default,
        seriesGate: SeriesGate? = nil,
        now: (@Sendable () -> Int64)? = nil
    ) {
        self.store = store
        self.deadLetters = deadLetters
        self.stateRecorder = stateRecorder
        self.limits = limits
        self.seriesGate = seriesGate
        self.now = now ?? NodeClock.system.now
    }

    /// What was ingested and refused so far.
    public var statistics: IngestCounters { counters.withLock { $0 } }

    public func intercept(_ publish: InterceptedPublish, eventLoop: any EventLoop) -> PublishDisposition {
        switch DeviceTopic(publish.topic) {
        case .telemetry(let device)?: return ingestTelemetry(publish, device: device, eventLoop: eventLoop)
        case .state(let device)?: return recordAttributes(publish, device: device, eventLoop: eventLoop)
        case .status(let device)?: return recordStatus(publish, device: device)
        default: return .accept
        }
    }

    func ingestTelemetry(
        _ publish: InterceptedPublish,
        device: DeviceID,
        eventLoop: any EventLoop
    ) -> PublishDisposition {
        var batch: TelemetryBatch
        do {
            batch = try decode(publish.payload, device: device)
        } catch {
            let reason = (error as? TelemetryDecodingError)?.reasonLabel ?? "invalid"
            return refuse(publish, device: device, reason: "\(reason): \(error)")
        }
        if let seriesGate {
            let outcome = seriesGate.admit(batch)
            if let reason = outcome.reason {
                let nothingAdmitted = outcome.admitted.samples.isEmpty
                counters.withLock {
                    $0.samplesOverLimit += outcome.refused.count
                    if nothingAdmitted { $0.rejectedMessages += 1 }
                }
                deadLetters.recordDeadLetter(
                    receivedAt: now(),
                    device: device,
                    topic: publish.topic,
                    reason: reason,
                    payload: SeriesGate.payload(of: outcome.refused),
                    completion: { _ in }
                )
                if nothingAdmitted { return .reject(.quotaExceeded) }
                batch = outcome.admitted
            }
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

extension TelemetryIngestor {
    /// Keeps a refused payload as a dead letter, counts it, and refuses it with 0x99.
    func refuse(_ publish: InterceptedPublish, device: DeviceID, reason: String) -> PublishDisposition {
        counters.withLock {
            $0.rejectedMessages += 1
            $0.invalidMessages += 1
        }
        deadLetters.recordDeadLetter(
            receivedAt: now(),
            device: device,
            topic: publish.topic,
            reason: reason,
            // The whole payload (at most the broker's packet limit): the store keeps a bounded
            // prefix and records the full size.
            payload: Array(publish.payload.readableBytesView),
            completion: { _ in }
        )
        return .reject(.payloadFormatInvalid)
    }

    /// `devices/{id}/state`: a JSON object of attributes (at most 64 KiB), stored with its
    /// receive time; QoS 1/2 is acknowledged once stored.
    func recordAttributes(
        _ publish: InterceptedPublish,
        device: DeviceID,
        eventLoop: any EventLoop
    ) -> PublishDisposition {
        guard let stateRecorder else { return .accept }
        if publish.payload.readableBytes == 0 { return .accept }  // clearing a retained state
        guard publish.payload.readableBytes <= 65_536 else {
            return refuse(publish, device: device, reason: "too_large: a state message is limited to 64 KiB")
        }
        let bytes = Data(publish.payload.readableBytesView)
        guard (try? JSONSerialization.jsonObject(with: bytes)) is [String: Any] else {
            return refuse(publish, device: device, reason: "malformed_json: a state message must be one JSON object")
        }
        let json = String(decoding: bytes, as: UTF8.self)
        guard publish.qos != .atMostOnce else {
            stateRecorder.submit(.attributes(device, json: json, at: now(), done: nil))
            return .accept
        }
        let promise = eventLoop.makePromise(of: ReasonCode.self)
        guard stateRecorder.submit(.attributes(device, json: json, at: now(), done: promise)) else {
            promise.succeed(.quotaExceeded)
            return .acceptAfter(promise.futureResult)
        }
        return .acceptAfter(promise.futureResult)
    }

    /// `devices/{id}/status`: `online` or `offline` (plain text, any case, or `{"status": ...}`),
    /// as published by the device or by the broker as its will.
    func recordStatus(_ publish: InterceptedPublish, device: DeviceID) -> PublishDisposition {
        guard let stateRecorder else { return .accept }
        if publish.payload.readableBytes == 0 { return .accept }
        var text = String(decoding: publish.payload.readableBytesView.prefix(256), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if text.hasPrefix("{"),
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let status = object["status"] as? String
        {
            text = status.lowercased()
        }
        guard text == "online" || text == "offline" else {
            return refuse(publish, device: device, reason: "bad_status: expected 'online' or 'offline'")
        }
        let reason = publish.identity.principal == device.rawValue ? "reported" : "published by \(publish.clientID)"
        stateRecorder.submit(.status(device, online: text == "online", at: now(), reason: reason))
        return .accept
    }

    public func clientConnected(clientID: String, identity: ClientIdentity) {
        guard let stateRecorder, let device = Self.device(of: identity) else { return }
        stateRecorder.submit(.status(device, online: true, at: now(), reason: "connected"))
    }

    public func clientDisconnected(clientID: String, identity: ClientIdentity, graceful: Bool) {
        guard let stateRecorder, let device = Self.device(of: identity) else { return }
        stateRecorder.submit(
            .status(device, online: false, at: now(), reason: graceful ? "disconnected" : "connection lost")
        )
    }

    /// The device a client authenticated as, if it is a device.
    static func device(of identity: ClientIdentity) -> DeviceID? {
        guard identity.roles.contains(ClientRoles.device), let principal = identity.principal else {
            return nil
        }
        return try? DeviceID(validating: principal)
    }
}

/// Counts of the ingest path.
public struct IngestCounters: Sendable, Equatable {
    public var messages = 0
    public var samples = 0
    public var rejectedMessages = 0
    /// Samples refused by a series limit (their messages count in ``rejectedMessages`` when
    /// nothing of them was admitted).
    public var samplesOverLimit = 0
    /// Messages refused as invalid (decoding, validation, a state message that is not one JSON
    /// object); also counted in ``rejectedMessages``.
    public var invalidMessages = 0
}

/// A refusal of the ingest path that is not a decoding error.
struct IngestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
