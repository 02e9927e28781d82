import NIOCore
import NIOEmbedded
import ReflexCore
import ReflexMQTT
import ReflexNode
import ReflexServer
import ReflexStore
import Synchronization
import Testing

/// A store that keeps batches and dead letters in memory and completes when told.
final class FakeStore: SampleStore, DeadLetterStore {
    let batches = Mutex<[TelemetryBatch]>([])
    let completions = Mutex<[@Sendable (Result<Void, any Error>) -> Void]>([])
    let letters = Mutex<[(device: DeviceID?, topic: String, reason: String, payload: [UInt8])]>([])

    func enqueue(_ batch: TelemetryBatch, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        batches.withLock { $0.append(batch) }
        completions.withLock { $0.append(completion) }
    }

    func append(_ batch: TelemetryBatch) async throws { batches.withLock { $0.append(batch) } }

    func recordDeadLetter(
        receivedAt: Int64,
        device: DeviceID?,
        topic: String,
        reason: String,
        payload: [UInt8],
        completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) {
        letters.withLock { $0.append((device, topic, reason, payload)) }
        completion(.success(()))
    }

    func deadLetters(limit: Int, before: Int64?) async throws -> [DeadLetter] { [] }

    func complete(_ index: Int, _ result: Result<Void, any Error>) {
        let completion = completions.withLock { $0[index] }
        completion(result)
    }
}

struct StoreFailure: Error {}

@Suite struct TelemetryIngestorTests {
    let now: Int64 = 1_764_145_200_000

    func publish(_ topic: String, _ payload: String, qos: QoS = .atLeastOnce) -> InterceptedPublish {
        InterceptedPublish(
            clientID: "c",
            identity: ClientIdentity(principal: "pump-1"),
            topic: topic,
            payload: ByteBuffer(string: payload),
            qos: qos,
            retain: false,
            contentType: nil
        )
    }

    @Test("QoS 1 telemetry is acknowledged only when the store commits it")
    func acknowledgedAfterCommit() throws {
        let store = FakeStore()
        let ingestor = TelemetryIngestor(store: store, deadLetters: store, now: { [now] in now })
        let loop = EmbeddedEventLoop()
        let disposition = ingestor.intercept(
            publish("devices/pump-1/telemetry", #"{"values": {"temperature": 71.5, "running": true}}"#),
            eventLoop: loop
        )
        guard case .acceptAfter(let future) = disposition else {
            Issue.record("expected a deferred acknowledgement, got \(disposition)")
            return
        }
        let batch = try #require(store.batches.withLock { $0.first })
        #expect(batch.device.rawValue == "pump-1")
        #expect(batch.samples.map(\.value).sorted() == [1, 71.5])
        #expect(batch.samples.allSatisfy { $0.timestamp == now })
        let result = Mutex<ReasonCode?>(nil)
        future.whenSuccess { code in result.withLock { $0 = code } }
        loop.run()
        #expect(result.withLock { $0 } == nil)
        store.complete(0, .success(()))
        loop.run()
        #expect(result.withLock { $0 } == .success)
    }

    @Test("a failed commit is reported as a failure code")
    func failedCommit() throws {
        let store = FakeStore()
        let ingestor = TelemetryIngestor(store: store, deadLetters: store, now: { [now] in now })
        let loop = EmbeddedEventLoop()
        guard
            case .acceptAfter(let future) = ingestor.intercept(
                publish("devices/pump-1/telemetry", #"{"values": {"t": 1}}"#),
                eventLoop: loop
            )
        else {
            Issue.record("expected a deferred acknowledgement")
            return
        }
        store.complete(0, .failure(StoreFailure()))
        let result = Mutex<ReasonCode?>(nil)
        future.whenSuccess { code in result.withLock { $0 = code } }
        loop.run()
        #expect(result.withLock { $0 }?.isFailure == true)
    }

    @Test(
        "bad payloads are refused with 0x99 and kept as dead letters",
        arguments: [
            #"{"values": {"t": "hot"}}"#, #"{"values": {"t": 1"#, "garbage that is not line protocol",
            "m,device=pump-2 v=1",
        ]
    )
    func badPayload(payload: String) {
        let store = FakeStore()
        let ingestor = TelemetryIngestor(store: store, deadLetters: store, now: { [now] in now })
        let disposition = ingestor.intercept(
            publish("devices/pump-1/telemetry", payload),
            eventLoop: EmbeddedEventLoop()
        )
        guard case .reject(let code) = disposition else {
            Issue.record("expected a refusal, got \(disposition)")
            return
        }
        #expect(code == .payloadFormatInvalid)
        #expect(store.batches.withLock { $0.isEmpty })
        let letter = store.letters.withLock { $0.first }
        #expect(letter?.device?.rawValue == "pump-1")
        #expect(letter?.payload == Array(payload.utf8))
        #expect(ingestor.statistics.rejectedMessages == 1)
    }

    @Test("QoS 0 telemetry is stored best effort and routed at once; other topics pass untouched")
    func qos0AndOtherTopics() {
        let store = FakeStore()
        let ingestor = TelemetryIngestor(store: store, deadLetters: store, now: { [now] in now })
        let loop = EmbeddedEventLoop()
        guard
            case .accept = ingestor.intercept(
                publish("devices/pump-1/telemetry", #"{"values": {"t": 1}}"#, qos: .atMostOnce),
                eventLoop: loop
            )
        else {
            Issue.record("QoS 0 should be accepted at once")
            return
        }
        #expect(store.batches.withLock { $0.count } == 1)
        guard case .accept = ingestor.intercept(publish("plant/line-1/anything", "not telemetry"), eventLoop: loop)
        else {
            Issue.record("other topics should pass")
            return
        }
        #expect(store.batches.withLock { $0.count } == 1)
    }
}
