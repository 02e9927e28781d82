import Prometheus
public import ReflexCore
public import ReflexStore
import Synchronization

/// A ``SampleStore`` decorator that measures what the group commit means to a publisher: the
/// time from queueing a batch to its durable commit (the wait of a QoS 1 PUBACK), and counts the
/// batches the store refused, by reason. Both write paths (MQTT and HTTP) go through it.
///
/// - Complexity: O(1) per batch: one clock read at enqueue and one at completion.
public struct InstrumentedSampleStore: SampleStore {
    /// The store written to.
    public let base: any SampleStore
    let metrics: NodeMetrics

    /// - Parameters:
    ///   - base: the real sample store.
    ///   - metrics: the node's metrics (the latency histogram and refusal counters).
    public init(base: any SampleStore, metrics: NodeMetrics) {
        self.base = base
        self.metrics = metrics
    }

    public func enqueue(_ batch: TelemetryBatch, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let metrics = self.metrics
        let started = ContinuousClock.now
        base.enqueue(batch) { result in
            metrics.recordCommit(of: batch.samples.count, result: result, after: ContinuousClock.now - started)
            completion(result)
        }
    }

    public func append(_ batch: TelemetryBatch) async throws {
        let started = ContinuousClock.now
        do {
            try await base.append(batch)
            metrics.recordCommit(of: batch.samples.count, result: .success(()), after: ContinuousClock.now - started)
        } catch {
            metrics.recordCommit(of: batch.samples.count, result: .failure(error), after: ContinuousClock.now - started)
            throw error
        }
    }
}

extension NodeMetrics {
    /// The `reason` label of a store refusal.
    static func refusalReason(_ error: any Error) -> String {
        guard let error = error as? SampleStoreError else { return "store_failure" }
        switch error.code {
        case .overloaded: return "overloaded"
        case .closed: return "closed"
        case .invalidSample: return "invalid"
        default: return "store_failure"
        }
    }

    /// Records one batch's commit: its latency when it succeeded, its refusal otherwise.
    func recordCommit(of samples: Int, result: Result<Void, any Error>, after latency: Duration) {
        switch result {
        case .success: commitLatency.record(latency)
        case .failure(let error):
            let reason = Self.refusalReason(error)
            refusedMessages(reason).increment()
            refusedSamples(reason).increment(by: Int64(samples))
        }
    }
}
