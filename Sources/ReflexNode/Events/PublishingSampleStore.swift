public import ReflexCore
public import ReflexStore

/// A ``SampleStore`` that publishes each batch on an ``EventChannel`` once the underlying store has
/// committed it, so that later stages see exactly the acknowledged data, whichever way it came in
/// (MQTT or HTTP).
public struct PublishingSampleStore: SampleStore {
    public let base: any SampleStore
    public let committed: any EventChannel<CommittedTelemetry>

    public init(base: any SampleStore, committed: any EventChannel<CommittedTelemetry>) {
        self.base = base
        self.committed = committed
    }

    public func enqueue(_ batch: TelemetryBatch, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let committed = self.committed
        let enqueuedAt = ContinuousClock.now
        base.enqueue(batch) { result in
            if case .success = result {
                committed.publish(CommittedTelemetry(batch: batch, enqueuedAt: enqueuedAt, committedAt: .now))
            }
            completion(result)
        }
    }

    public func append(_ batch: TelemetryBatch) async throws {
        let enqueuedAt = ContinuousClock.now
        try await base.append(batch)
        committed.publish(CommittedTelemetry(batch: batch, enqueuedAt: enqueuedAt, committedAt: .now))
    }
}
