import Foundation
import GRDB
public import Logging
public import ReflexCore
public import ServiceLifecycle
import Synchronization

/// The SQLite sample store: `<directory>/samples.sqlite` through a GRDB `DatabasePool` in WAL
/// mode, with group commit.
///
/// Writing: ``enqueue(_:completion:)`` only appends to an in-memory list under a `Mutex`. The
/// store's ``run()`` (a `Service`: put the store in the node's `ServiceGroup`) wakes when work
/// arrives, gathers for ``SQLiteSampleStoreConfiguration/commitInterval`` (5 ms; no wait once
/// ``SQLiteSampleStoreConfiguration/immediateCommitSamples`` are pending), commits everything in
/// ONE transaction and then calls the completions in enqueue order. A completion therefore runs
/// only once its samples are durable, which is when the MQTT layer may send the PUBACK.
///
/// Durability: WAL with `synchronous = FULL`. In WAL mode `NORMAL` syncs only at checkpoints, so
/// a power cut can roll back the last commits, i.e. data we already acknowledged. `FULL` syncs
/// the WAL at every commit; group commit pays that fsync once per group, not per message.
///
/// Reading: the newest sample of every series is kept in memory (loaded at open, updated after
/// each commit); range and aggregate queries use the pool's read connections concurrently with
/// the writer, aggregates from the coarsest rollup that answers exactly.
///
/// Background work: ``SampleRetentionService`` applies ``SampleRetention`` periodically.
///
/// Commit log: with ``SQLiteSampleStoreConfiguration/logsCommits`` every committed batch is
/// also appended to `commit_log` in the same transaction, numbered in commit order, and handed
/// to the ``commitFeed(bufferSize:)`` subscriber (see `SQLiteSampleStore+CommitLog.swift`).
public final class SQLiteSampleStore: SampleStore, SampleQuerying, DeadLetterStore, Service, Sendable {
    /// The settings the store was opened with.
    public let configuration: SQLiteSampleStoreConfiguration
    /// The database file, `<directory>/samples.sqlite`.
    public let path: String

    let pool: DatabasePool
    let logger: Logger
    /// Validation, the pending list and the writer's rhythm.
    let intake: SampleIntake
    let catalog: Mutex<SeriesCatalog>
    let counters = Mutex(IngestStatistics())
    /// The sequence number of the newest logged batch (0 when none ever was).
    let lastLogged = Atomic<Int64>(0)
    /// Where committed log entries are handed over live, if anyone subscribed.
    let feed = Mutex<CommitFeed?>(nil)
    /// Wall-clock ms since the epoch, for the commit log's commit times.
    let now: @Sendable () -> Int64
    private let isRunning = Atomic<Bool>(false)

    /// Opens (creating if needed) `<directory>/samples.sqlite`, migrates it and loads the series
    /// catalog and the newest sample of every series.
    /// - Parameters:
    ///   - configuration: the settings.
    ///   - logger: the store's logger.
    ///   - now: wall-clock ms since the epoch, for commit times in the commit log (default: the
    ///     system clock).
    /// - Throws: ``SampleStoreError`` with code `database` naming the file.
    public init(
        configuration: SQLiteSampleStoreConfiguration,
        logger: Logger,
        now: (@Sendable () -> Int64)? = nil
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.now = now ?? NodeClock.system.now
        let path = URL(fileURLWithPath: configuration.directory).appendingPathComponent("samples.sqlite").path
        self.path = path
        intake = SampleIntake(
            name: "sample store '\(path)'",
            maxPendingSamples: configuration.maxPendingSamples,
            deadLetterPayloadLimit: configuration.deadLetterPayloadLimit
        )
        do {
            try FileManager.default.createDirectory(
                atPath: configuration.directory,
                withIntermediateDirectories: true
            )
            var config = Configuration()
            config.maximumReaderCount = max(1, configuration.maximumReaderCount)
            config.label = "ReflexStore.samples"
            // The node and the CLI (`reflex query`, run while the node serves) open the same
            // file: a connection that finds the write lock taken waits for it (group commits
            // hold it for milliseconds) instead of failing with "database is locked".
            config.busyMode = .timeout(5)
            config.prepareDatabase { db in
                // 32 MiB page cache and memory-mapped reads: range scans then copy no pages.
                try db.execute(sql: "PRAGMA cache_size = -32768")
                try db.execute(sql: "PRAGMA mmap_size = 1073741824")
            }
            pool = try DatabasePool(path: path, configuration: config)
            // GRDB sets `synchronous = NORMAL` on the writer when it enables WAL; acknowledged
            // means durable, so switch the (single, long-lived) writer connection to FULL.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // Checkpoint every 16,384 pages (64 MiB of WAL) rather than 1,000: under load the
                // same leaf pages are rewritten by every group, and a rarer checkpoint copies each
                // of them to the database once, with one fsync, instead of once per commit.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
            }
            // A file migrated by a newer build is refused rather than used with a schema this
            // build does not know (GRDB's migrator would silently accept it).
            if try pool.read({ db in try SampleSchema.migrator.hasBeenSuperseded(db) }) {
                throw SampleStoreError(
                    code: .database,
                    message: "it holds migrations this build does not know: it was written by a newer Reflex"
                )
            }
            try SampleSchema.migrator.migrate(pool)
            catalog = Mutex(try pool.read { db in try SeriesCatalog.load(db) })
            lastLogged.store(try Self.loadCommitLogHead(pool), ordering: .relaxed)
        } catch {
            throw SampleStoreError(
                code: .database,
                message: "opening the sample database '\(path)' failed",
                cause: error
            )
        }
        logger.info(
            "Opened sample store",
            metadata: ["store.path": "\(path)", "store.series": "\(catalog.withLock { $0.ids.count })"]
        )
    }

    // MARK: - Writing

    /// Queues `batch` for the next group commit; `completion` runs once it is durable or failed.
    ///
    /// Never blocks on I/O. Fails fast, calling `completion` before returning, when a value is
    /// not finite or a timestamp is outside years 1 to 9999 (`invalidSample`), the pending list is full (`overloaded`) or the store is shut
    /// down (`closed`). Completions run on the writer task in enqueue order; keep them short.
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
    /// ``SQLiteSampleStoreConfiguration/deadLetterPayloadLimit`` bytes of `payload` are kept.
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

    /// Records a dead letter and waits until it is durable.
    public func recordDeadLetter(
        receivedAt: Int64,
        device: DeviceID?,
        topic: String,
        reason: String,
        payload: [UInt8]
    ) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            recordDeadLetter(receivedAt: receivedAt, device: device, topic: topic, reason: reason, payload: payload) {
                continuation.resume(with: $0)
            }
        }
    }

    // MARK: - Group commit

    /// The group-commit writer. Runs until cancelled or gracefully shut down; on the way out it
    /// refuses new work and commits what is pending, so every queued completion is called.
    /// - Throws: ``SampleStoreError`` `alreadyRunning` if called twice concurrently.
    public func run() async throws {
        guard isRunning.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else {
            throw SampleStoreError(code: .alreadyRunning, message: "sample store '\(path)': run() is already active")
        }
        if !configuration.logsCommits { await discardCommitLog() }
        await intake.runGroups(
            commitInterval: configuration.commitInterval,
            immediateCommitSamples: configuration.immediateCommitSamples
        ) {
            await commitPending(blocking: false)
        }
        intake.close()
        await commitPending(blocking: true)
        logger.info("Sample writer stopped", metadata: ["store.path": "\(path)"])
    }

    /// Commits everything pending in one transaction and calls the completions in order.
    /// The last group (`blocking`) uses GRDB's blocking access: it must commit even when the
    /// task is cancelled, and GRDB's async access would be interrupted by the cancellation.
    func commitPending(blocking: Bool) async {
        let items = intake.drain()
        guard !items.isEmpty else { return }
        let writer = GroupWriterSettings(
            knownSeries: catalog.withLock { $0.ids },
            logsCommits: configuration.logsCommits,
            committedAt: now()
        )
        let result: Result<SampleGroupWriter.Outcome, any Error>
        do {
            let outcome: SampleGroupWriter.Outcome
            if blocking || Task.isCancelled {
                outcome = try writeBlocking(items, writer: writer)
            } else {
                outcome = try await pool.write { db in try writer.writer(db).write(items) }
            }
            result = .success(outcome)
        } catch {
            result = .failure(error)
        }
        finish(items, result: result)
    }

    /// GRDB's synchronous write (a synchronous context selects it over the async overload).
    private func writeBlocking(
        _ items: [PendingItem],
        writer: GroupWriterSettings
    ) throws -> SampleGroupWriter.Outcome {
        try pool.write { db in try writer.writer(db).write(items) }
    }

    /// What a ``SampleGroupWriter`` needs besides the connection.
    private struct GroupWriterSettings: Sendable {
        var knownSeries: [SeriesKey: Int64]
        var logsCommits = false
        var committedAt: Int64 = 0

        func writer(_ db: Database) -> SampleGroupWriter {
            var writer = SampleGroupWriter(db: db, knownSeries: knownSeries)
            writer.logsCommits = logsCommits
            writer.committedAt = committedAt
            return writer
        }
    }

    private func finish(_ items: [PendingItem], result: Result<SampleGroupWriter.Outcome, any Error>) {
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
            logger.error(
                "Group commit failed",
                metadata: ["store.path": "\(path)", "store.items": "\(items.count)", "error": "\(cause)"]
            )
            let error = SampleStoreError(
                code: .database,
                message: "sample store '\(path)': committing a group of \(items.count) messages failed",
                cause: cause
            )
            for item in items { item.completion(.failure(error)) }
        }
    }

    /// Counters since the store was opened, and the samples pending now.
    public func ingestStatistics() -> IngestStatistics {
        intake.annotate(counters.withLock { $0 })
    }
}
