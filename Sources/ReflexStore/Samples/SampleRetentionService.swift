public import Logging
public import ServiceLifecycle

/// Applies a sample store's retention every `interval` (default 10 minutes) until
/// graceful shutdown. A failed pass is logged and retried at the next tick; it never stops
/// the node.
public struct SampleRetentionService: Service {
    let store: any SampleMaintenance
    let interval: Duration
    let clock: any Clock<Duration>
    let now: @Sendable () -> Int64
    let logger: Logger

    /// Creates the service.
    /// - Parameters:
    ///   - store: the store to trim.
    ///   - interval: time between passes.
    ///   - clock: the clock that paces the passes (a mock clock in tests).
    ///   - now: the wall-clock time in ms since the epoch, which sets the horizons.
    ///   - logger: where failed passes are reported.
    public init(
        store: any SampleMaintenance,
        interval: Duration = .seconds(600),
        clock: any Clock<Duration>,
        now: @escaping @Sendable () -> Int64,
        logger: Logger
    ) {
        self.store = store
        self.interval = interval
        self.clock = clock
        self.now = now
        self.logger = logger
    }

    /// Sleeps `interval`, applies retention, repeats; returns on graceful shutdown or cancellation.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await clock.sleep(for: interval)
                    do {
                        try await store.applyRetention(now: now())
                    } catch {
                        if Task.isCancelled { throw CancellationError() }
                        logger.error(
                            "Retention pass failed",
                            metadata: ["store.location": "\(store.location)", "error": "\(error)"]
                        )
                    }
                }
            }
        } catch is CancellationError {
            return
        }
    }
}
