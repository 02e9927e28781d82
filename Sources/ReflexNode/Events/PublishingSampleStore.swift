public import ReflexCore
public import ReflexStore

/// A ``SampleStore`` that publishes each batch on a ``Broadcast`` once the underlying store has
/// committed it, so that later stages see exactly the acknowledged data, whichever way it came in
/// (MQTT or HTTP).
public struct PublishingSampleStore: SampleStore {
    public let base: any SampleStore
    public let committed: Broadcast<TelemetryBatch>

    public init(base: any SampleStore, committed: Broadcast<TelemetryBatch>) {
        self.base = base
        self.committed = committed
    }

    public func enqueue(_ batch: TelemetryBatch, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let committed = self.committed
        base.enqueue(batch) { result in
            if case .success = result { committed.publish(batch) }
            completion(result)
        }
    }

    public func append(_ batch: TelemetryBatch) async throws {
        try await base.append(batch)
        committed.publish(batch)
    }
}
