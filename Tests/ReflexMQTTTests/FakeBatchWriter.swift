import NIOCore
import NIOEmbedded

@testable import ReflexMQTT

/// Stands in for the session store's writes: records every batch and keeps it pending until the
/// test completes it (``complete(failing:)``), all on the embedded loop: no threads, no waiting.
final class FakeBatchWriter: @unchecked Sendable {
    struct Failure: Error {}

    let loop: EmbeddedEventLoop
    /// Every batch written, in order.
    private(set) var batches: [BrokerStateBatch] = []
    private var pending: [EventLoopPromise<Void>] = []

    init(loop: EmbeddedEventLoop) {
        self.loop = loop
    }

    /// A journal that writes through this fake.
    func journal() -> BrokerJournal {
        BrokerJournal { [self] batch, _ in
            batches.append(batch)
            let promise = loop.makePromise(of: Void.self)
            pending.append(promise)
            return promise.futureResult
        }
    }

    /// Whether a write is waiting to be completed.
    var isWriting: Bool { !pending.isEmpty }

    /// Completes the oldest pending write, then runs the loop (acknowledgements go out).
    func complete(failing: Bool = false) {
        guard !pending.isEmpty else { return }
        let promise = pending.removeFirst()
        if failing { promise.fail(Failure()) } else { promise.succeed() }
        loop.run()
    }
}
