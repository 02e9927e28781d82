import ReflexCore
import ServiceLifecycle
import Synchronization

/// The front half of a group-commit sample store, whatever the database behind it: validates
/// and queues work without blocking, refuses it past the pending bound or after shutdown, and
/// paces the writer. ``SQLiteSampleStore`` and ``PostgresSampleStore`` each own one and only
/// write what it hands them.
///
/// `enqueue` and `recordDeadLetter` append to a ``PendingGroup`` under a `Mutex` and wake the
/// writer when the list was empty; ``runGroups(commitInterval:immediateCommitSamples:commit:)``
/// gathers for the rest of the commit interval (no wait once a group is large), then calls the
/// store's `commit`, which drains and writes.
final class SampleIntake: Sendable {
    /// The store, for messages: "sample store '/data/samples.sqlite'".
    let name: String
    /// The bound of the pending list, in samples (a dead letter counts as one).
    let maxPendingSamples: Int
    /// How many leading bytes of a dead letter's payload are kept.
    let deadLetterPayloadLimit: Int
    private let pending = Mutex(PendingGroup())
    private let wakeups: AsyncStream<Void>
    private let wakeupContinuation: AsyncStream<Void>.Continuation

    init(name: String, maxPendingSamples: Int, deadLetterPayloadLimit: Int) {
        self.name = name
        self.maxPendingSamples = maxPendingSamples
        self.deadLetterPayloadLimit = deadLetterPayloadLimit
        (wakeups, wakeupContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues `batch`, or calls `completion` with the refusal before returning: `invalidSample`
    /// (``SampleValidation``), `overloaded` or `closed`.
    /// - Complexity: amortised O(samples) to validate, O(1) to queue.
    func enqueue(_ batch: TelemetryBatch, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        if let rejection = SampleValidation.rejection(of: batch) {
            pending.withLock { $0.countRejection() }
            completion(.failure(rejection))
            return
        }
        submit(
            PendingItem(work: .batch(batch), completion: completion),
            what: "batch of \(batch.samples.count) samples from device '\(batch.device)'"
        )
    }

    /// Queues a dead letter, its payload cut to ``deadLetterPayloadLimit`` bytes.
    func recordDeadLetter(
        receivedAt: Int64,
        device: DeviceID?,
        topic: String,
        reason: String,
        payload: [UInt8],
        completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) {
        let draft = DeadLetterDraft(
            receivedAt: receivedAt,
            device: device,
            topic: topic,
            reason: reason,
            payload: Array(payload.prefix(max(0, deadLetterPayloadLimit))),
            payloadSize: payload.count
        )
        submit(PendingItem(work: .deadLetter(draft), completion: completion), what: "dead letter from topic '\(topic)'")
    }

    private func submit(_ item: PendingItem, what: @autoclosure () -> String) {
        let limit = maxPendingSamples
        let outcome = pending.withLock { $0.submit(item, weight: item.weight, limit: limit) }
        switch outcome {
        case .queued(let wakeWriter):
            if wakeWriter { wakeupContinuation.yield() }
        case .overloaded(let pendingCount):
            item.completion(
                .failure(
                    SampleStoreError(
                        code: .overloaded,
                        message:
                            "\(name): \(what()) refused, \(pendingCount) samples already pending (limit \(limit)); retry later"
                    )
                )
            )
        case .closed:
            item.completion(
                .failure(SampleStoreError(code: .closed, message: "\(name) is shut down: \(what()) refused"))
            )
        }
    }

    /// Calls `commit` whenever work is pending, at most once per `commitInterval` unless
    /// `immediateCommitSamples` are waiting; returns on graceful shutdown or cancellation
    /// without committing what is left (the caller does, after ``close()``).
    ///
    /// The rhythm is kept on `ContinuousClock`: it batches I/O and decides nothing a test
    /// observes; the node's wall clock stamps what is stored.
    func runGroups(commitInterval: Duration, immediateCommitSamples: Int, commit: () async -> Void) async {
        let clock = ContinuousClock()
        var lastCommit = clock.now
        for await _ in wakeups.cancelOnGracefulShutdown() {
            // Gather for the rest of the interval since the last commit, unless the group is
            // already large; a graceful shutdown ends the wait early.
            let deadline = lastCommit.advanced(by: commitInterval)
            let pendingWeight = pending.withLock { $0.weight }
            if pendingWeight < immediateCommitSamples, clock.now < deadline {
                try? await cancelWhenGracefulShutdown { try await clock.sleep(until: deadline) }
                if Task.isShuttingDownGracefully || Task.isCancelled { return }  // the last group follows
            }
            lastCommit = clock.now
            await commit()
        }
    }

    /// Takes everything pending, in enqueue order.
    func drain() -> [PendingItem] { pending.withLock { $0.drain() } }

    /// Takes the oldest pending items up to `maxWeight` samples (at least one item).
    func drain(upTo maxWeight: Int) -> [PendingItem] { pending.withLock { $0.drain(upTo: maxWeight) } }

    /// Refuses all later work; what is pending stays for the last commit.
    func close() { pending.withLock { $0.close() } }

    /// `statistics` with the samples pending now and the messages refused so far.
    func annotate(_ statistics: IngestStatistics) -> IngestStatistics {
        var statistics = statistics
        pending.withLock { group in
            statistics.pendingSamples = group.weight
            statistics.messagesRejected = group.rejected
        }
        return statistics
    }
}
