public import Logging
import PostgresNIO
public import ReflexCore
public import ServiceLifecycle
import Synchronization

/// The PostgreSQL sample store: the roles of ``SQLiteSampleStore`` (samples with rollups, queries,
/// dead letters, device state, detection's checkpoints, bands and commit log, retention) on a
/// shared ``PostgresDatabase``, with the same contract.
///
/// Writing: ``enqueue(_:completion:)`` only appends to an in-memory list under a `Mutex`. The
/// store's ``run()`` (a `Service`: put it in the node's `ServiceGroup` after the database) wakes
/// when work arrives, gathers for ``PostgresSampleStoreConfiguration/commitInterval``, writes
/// everything pending in ONE transaction, with a few statements whatever the group's size
/// (bound arrays through `unnest`, see ``PostgresSampleGroupWriter``), and calls the
/// completions in enqueue order only after `COMMIT` returned. A completion therefore means
/// durable in PostgreSQL (the transaction sets `synchronous_commit = on` for itself), which is when
/// the MQTT layer may send the PUBACK.
///
/// A lost connection fails the group: every completion gets ``SampleStoreError`` `unavailable`
/// (answered with 503, PUBACK 0x80); none is told success for a transaction whose `COMMIT` did
/// not answer. When the answer was lost after the server committed, the client's retry is
/// harmless: samples are idempotent per (series, timestamp). The pool reconnects by itself; the
/// next group uses a new connection.
///
/// Reading: the newest sample of every series is kept in memory (loaded at open, updated after
/// each commit); range and aggregate queries run on the pool's other connections.
///
/// One writer per database: the series catalog is cached in memory and the commit log numbered
/// in one row, so two nodes must not share one sample database.
public final class PostgresSampleStore: SampleStore, SampleQuerying, DeadLetterStore, Service, Sendable {
    /// The settings the store was opened with.
    public let configuration: PostgresSampleStoreConfiguration
    /// The database, shared with the node's other PostgreSQL stores.
    public let database: PostgresDatabase

    let logger: Logger
    /// Validation, the pending list and the writer's rhythm, shared with ``SQLiteSampleStore``.
    let intake: SampleIntake
    let catalog: Mutex<SeriesCatalog>
    let counters = Mutex(IngestStatistics())
    /// The sequence number of the newest logged batch (0 when none ever was).
    let lastLogged = Atomic<Int64>(0)
    /// Where committed log entries are handed over live, if anyone subscribed.
    let feed = Mutex<CommitFeed?>(nil)
    /// Wall-clock ms since the epoch (the node's clock), for commit times.
    let now: @Sendable () -> Int64
    private let isRunning = Atomic<Bool>(false)

    private init(
        database: PostgresDatabase,
        configuration: PostgresSampleStoreConfiguration,
        catalog: SeriesCatalog,
        lastLogged: Int64,
        logger: Logger,
        now: @escaping @Sendable () -> Int64
    ) {
        self.database = database
        self.configuration = configuration
        self.catalog = Mutex(catalog)
        self.lastLogged.store(lastLogged, ordering: .relaxed)
        self.logger = logger
        self.now = now
        intake = SampleIntake(
            name: "sample store \(database.settings)",
            maxPendingSamples: configuration.maxPendingSamples,
            deadLetterPayloadLimit: configuration.deadLetterPayloadLimit
        )
    }

    /// Loads the series catalog and the newest sample of every series from `database`, which
    /// must hold ``PostgresSampleSchema/migrations`` (``PostgresDatabase/open(_:migrations:logger:)``
    /// applies them).
    /// - Parameters:
    ///   - database: the node's database.
    ///   - configuration: the settings.
    ///   - logger: the store's logger.
    ///   - now: wall-clock ms since the epoch, from the node's clock (`NodeClock.now`).
    /// - Throws: ``SampleStoreError`` `unavailable` or `database`, naming the database.
    public static func open(
        database: PostgresDatabase,
        configuration: PostgresSampleStoreConfiguration = PostgresSampleStoreConfiguration(),
        logger: Logger,
        now: @escaping @Sendable () -> Int64
    ) async throws -> PostgresSampleStore {
        let catalog: SeriesCatalog
        let lastLogged: Int64
        do {
            catalog = try await loadCatalog(database)
            lastLogged = try await loadCommitLogHead(database)
        } catch {
            throw PostgresFailure.storeError(error, "opening the sample store in \(database.settings)")
        }
        let store = PostgresSampleStore(
            database: database,
            configuration: configuration,
            catalog: catalog,
            lastLogged: lastLogged,
            logger: logger,
            now: now
        )
        logger.info(
            "Opened sample store",
            metadata: ["store.location": "\(database.settings)", "store.series": "\(catalog.ids.count)"]
        )
        return store
    }

    /// Where the samples are: the database URL without its password.
    public var location: String { database.settings.description }

    // MARK: - Writing

    /// Queues `batch` for the next group commit; `completion` runs once it is durable or failed.
    ///
    /// Never blocks on I/O. Fails fast, calling `completion` before returning, when a value is
    /// not finite or a timestamp is outside years 1 to 9999 (`invalidSample`), the pending list
    /// is full (`overloaded`) or the store is shut down (`closed`). Completions run on the writer
    /// task in enqueue order; keep them short.
    /// - Complexity: amortised O(samples) to validate, O(1) to queue.
    public func enqueue(_ batch: TelemetryBatch, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        intake.enqueue(batch, completion: completion)
    }

    /// Queues `batch` and waits until it is durable.
    /// - Throws: the error ``enqueue(_:completion:)`` would report.
    public func append(_ batch: TelemetryBatch) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(batch) { continuation.resume(with: $0) }
        }
    }

    /// Queues a dead letter through the same group commit as samples; only the first
    /// ``PostgresSampleStoreConfiguration/deadLetterPayloadLimit`` bytes of `payload` are kept.
    public func recordDeadLetter(
        receivedAt: Int64,
        device: DeviceID?,
        topic: String,
        reason: String,
        payload: [UInt8],
        completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) {
        intake.recordDeadLetter(
            receivedAt: receivedAt,
            device: device,
            topic: topic,
            reason: reason,
            payload: payload,
            completion: completion
        )
    }

    // MARK: - Group commit

    /// The group-commit writer. Runs until cancelled or gracefully shut down; on the way out it
    /// refuses new work and commits what is pending, so every queued completion is called.
    ///
    /// The rhythm is ``SampleIntake``'s, shared with ``SQLiteSampleStore/run()``.
    /// - Throws: ``SampleStoreError`` `alreadyRunning` if called twice concurrently.
    public func run() async throws {
        guard isRunning.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else {
            throw SampleStoreError(code: .alreadyRunning, message: "sample store \(location): run() is already active")
        }
        if !configuration.logsCommits { await discardCommitLog() }
        await intake.runGroups(
            commitInterval: configuration.commitInterval,
            immediateCommitSamples: configuration.immediateCommitSamples
        ) {
            await commitPending()
        }
        intake.close()
        // The last group must be written even when run() was cancelled, and postgres-nio gives
        // up on a cancelled task's queries: an unstructured task does not inherit the
        // cancellation. It is awaited here, so nothing outlives run().
        let store = self
        await Task { await store.commitPending() }.value
        logger.info("Sample writer stopped", metadata: ["store.location": "\(location)"])
    }

    /// Commits everything pending, in transactions of at most
    /// ``PostgresSampleStoreConfiguration/maxGroupSamples``, calling each one's completions in
    /// order after its commit.
    func commitPending() async {
        let limit = max(1, configuration.maxGroupSamples)
        while true {
            let items = intake.drain(upTo: limit)
            guard !items.isEmpty else { return }
            await commit(items)
        }
    }

    /// Commits `items` in one transaction and calls their completions in order.
    private func commit(_ items: [PendingItem]) async {
        var writer = PostgresSampleGroupWriter(knownSeries: catalog.withLock { $0.ids })
        writer.logsCommits = configuration.logsCommits
        writer.committedAt = now()
        let result: Result<PostgresSampleGroupWriter.Outcome, any Error>
        do {
            let (database, logger, group) = (self.database, self.logger, writer)
            let outcome = try await CommitDeadline.run(within: configuration.commitTimeout) {
                try await database.transaction { connection in
                    // Durable at COMMIT whatever the server's default (as the broker's writes):
                    // the PUBACKs wait for this transaction.
                    try await connection.query("SET LOCAL synchronous_commit TO on", logger: logger)
                    return try await group.write(items, on: connection, logger: logger)
                }
            }
            result = .success(outcome)
        } catch {
            result = .failure(error)
        }
        finish(items, result: result)
    }

    private func finish(_ items: [PendingItem], result: Result<PostgresSampleGroupWriter.Outcome, any Error>) {
        switch result {
        case .success(let outcome):
            catalog.withLock { catalog in
                for (key, id) in outcome.newSeries { catalog.add(key, id: id) }
                for (id, newest) in outcome.newest {
                    catalog.observe(series: id, timestamp: newest.timestamp, value: newest.value)
                }
            }
            counters.withLock { counters in
                counters.samplesCommitted += Int64(outcome.samples)
                counters.messagesCommitted += Int64(outcome.messages)
                counters.deadLettersCommitted += Int64(outcome.deadLetters)
                counters.commits += 1
                counters.lastCommitAt = now()
            }
            publishLogged(outcome.logged)
            for item in items { item.completion(.success(())) }
        case .failure(let cause):
            counters.withLock {
                $0.failedCommits += 1
                $0.lastFailedCommitAt = now()
            }
            let error = PostgresFailure.storeError(
                cause,
                "sample store \(location): committing a group of \(items.count) messages"
            )
            logger.error(
                "Group commit failed",
                metadata: [
                    "store.location": "\(location)", "store.items": "\(items.count)",
                    "store.error.code": "\(error.code)",
                    "error": "\(PostgresFailure.describe(cause))",
                ]
            )
            for item in items { item.completion(.failure(error)) }
        }
    }

    /// Counters since the store was opened, and the samples pending now.
    public func ingestStatistics() -> IngestStatistics {
        intake.annotate(counters.withLock { $0 })
    }

    // MARK: - Access

    /// Runs one statement on a pooled connection, wrapping failures in a ``SampleStoreError``
    /// that says what was being done.
    @discardableResult
    func access<T>(
        _ what: @autoclosure () -> String,
        _ body: () async throws -> T
    ) async throws -> T {
        do {
            return try await body()
        } catch {
            throw PostgresFailure.storeError(error, "sample store \(location): \(what())")
        }
    }
}
