import Foundation
import NIOCore
import PostgresNIO
import ReflexCore
import Synchronization

/// The commit log on PostgreSQL, with the contract of `SQLiteSampleStore+CommitLog.swift`: an
/// entry exists exactly when its batch is committed (same transaction), entries reach the one
/// ``commitFeed(bufferSize:)`` subscriber in commit order through a bounded queue, and the
/// consumer reads what the queue dropped back with ``commitLogPage(after:through:limit:)``.
extension PostgresSampleStore {
    /// Entries read per page at most, whatever a caller asks for.
    public static let maxCommitLogPage = SQLiteSampleStore.maxCommitLogPage

    /// The sequence number of the newest logged batch; 0 if none ever was.
    public var lastCommittedSequence: Int64 { lastLogged.load(ordering: .acquiring) }

    /// The in-memory feed of every entry logged from now on, holding at most `bufferSize`
    /// of them (see ``CommitFeed``). A new call finishes the previous feed.
    public func commitFeed(bufferSize: Int) -> CommitFeed {
        let created = CommitFeed(capacity: bufferSize)
        let previous = feed.withLock { feed in
            defer { feed = created }
            return feed
        }
        previous?.finish()
        return created
    }

    /// Hands freshly committed entries to the feed (writer task, in commit order).
    func publishLogged(_ entries: [CommittedBatch]) {
        guard let last = entries.last else { return }
        guard let feed = feed.withLock({ $0 }) else {
            lastLogged.store(last.sequence, ordering: .releasing)
            return
        }
        feed.offer(entries) { lastLogged.store(last.sequence, ordering: .releasing) }
    }

    /// Logged entries with `after < sequence <= through`, oldest first, at most `limit` (and at
    /// most ``maxCommitLogPage``). An entry that cannot be decoded is reported in
    /// ``CommitLogPage/unreadable`` instead of failing the page.
    public func commitLogPage(after: Int64, through: Int64, limit: Int) async throws -> CommitLogPage {
        let count = Int64(min(max(1, limit), Self.maxCommitLogPage))
        guard after < through else { return CommitLogPage() }
        return try await access("reading the commit log after entry \(after)") {
            let rows = try await database.query(
                """
                SELECT seq, committed_at, device, samples FROM commit_log
                WHERE seq > \(after) AND seq <= \(through) ORDER BY seq LIMIT \(count)
                """
            )
            var page = CommitLogPage()
            for try await (sequence, committedAt, device, samples) in rows.decode(
                (Int64, Int64, String, ByteBuffer).self
            ) {
                page.lastSequence = sequence
                guard let id = try? DeviceID(validating: device) else {
                    page.unreadable.append(
                        SampleStoreError(
                            code: .database,
                            message: "commit log entry \(sequence): invalid device id '\(device)'"
                        )
                    )
                    continue
                }
                do {
                    let decoded = try CommitLogCodec.decode(Data(samples.readableBytesView), sequence: sequence)
                    page.entries.append(
                        CommittedBatch(
                            sequence: sequence,
                            committedAt: committedAt,
                            batch: TelemetryBatch(device: id, samples: decoded)
                        )
                    )
                } catch let error as SampleStoreError {
                    page.unreadable.append(error)
                }
            }
            return page
        }
    }

    /// Deletes the entries up to `sequence`, in short statements of at most
    /// ``SampleRetention/batchSize`` rows; returns how many.
    public func trimCommitLog(through sequence: Int64) async throws -> Int {
        let batchSize = Int64(max(1, configuration.retention.batchSize))
        var total = 0
        while true {
            let deleted = try await access("trimming the commit log through entry \(sequence)") {
                try await deletedCount(
                    """
                    WITH d AS (
                        DELETE FROM commit_log WHERE seq IN (
                            SELECT seq FROM commit_log WHERE seq <= \(sequence) ORDER BY seq LIMIT \(batchSize)
                        ) RETURNING 1
                    ) SELECT count(*) FROM d
                    """
                )
            }
            total += deleted
            if Int64(deleted) < batchSize { return total }
        }
    }

    /// Runs a statement that answers one count.
    func deletedCount(_ query: PostgresQuery) async throws -> Int {
        var count: Int64 = 0
        for try await value in try await database.query(query).decode(Int64.self) { count = value }
        return Int(count)
    }

    /// At open: the newest sequence number ever logged.
    static func loadCommitLogHead(_ database: PostgresDatabase) async throws -> Int64 {
        var head: Int64 = 0
        for try await seq in try await database.query("SELECT seq FROM commit_log_head WHERE id = 1").decode(Int64.self)
        {
            head = seq
        }
        return head
    }

    /// When the writer starts without ``PostgresSampleStoreConfiguration/logsCommits``: empties
    /// the log (nobody reads it, and nothing would trim it). Done by the writer, not at open, so
    /// that a reader opened beside a running node (`reflex query`) never deletes the node's log.
    /// A failure is logged, not fatal: the leftover entries stay until a later start.
    func discardCommitLog() async {
        do {
            _ = try await database.query("DELETE FROM commit_log")
        } catch {
            logger.warning(
                "Could not empty the unused commit log",
                metadata: ["store.location": "\(location)", "error": "\(PostgresFailure.describe(error))"]
            )
        }
    }
}
