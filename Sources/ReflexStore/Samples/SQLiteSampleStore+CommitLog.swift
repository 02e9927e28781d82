import GRDB
import Logging
import ReflexCore
import Synchronization

/// The commit log: committed telemetry, in commit order, for a consumer that must see every
/// batch exactly once (live detection).
///
/// The group writer appends each batch to `commit_log` in the transaction that commits it, so
/// an entry exists exactly when its batch is durable. After the commit the entries go, in
/// order, to the one ``commitFeed(bufferSize:)`` subscriber through a bounded queue; an entry
/// that does not fit is not handed over, and the consumer sees the gap in the sequence numbers
/// and reads the missing entries back with ``commitLogPage(after:through:limit:)``. The
/// consumer deletes what it has durably processed with ``trimCommitLog(through:)``.
extension SQLiteSampleStore {
    /// Entries read per page at most, whatever a caller asks for.
    public static let maxCommitLogPage = 10_000

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
    /// - Throws: ``SampleStoreError`` `database` when SQLite fails.
    public func commitLogPage(after: Int64, through: Int64, limit: Int) async throws -> CommitLogPage {
        let limit = min(max(1, limit), Self.maxCommitLogPage)
        guard after < through else { return CommitLogPage() }
        do {
            return try await pool.read { db in
                var page = CommitLogPage()
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT seq, committed_at, device, samples FROM commit_log
                        WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?
                        """,
                    arguments: [after, through, limit]
                )
                while let row = try rows.next() {
                    let sequence: Int64 = row[0]
                    page.lastSequence = sequence
                    let device: String = row[2]
                    do {
                        guard let id = try? DeviceID(validating: device) else {
                            throw SampleStoreError(
                                code: .database,
                                message: "commit log entry \(sequence): invalid device id '\(device)'"
                            )
                        }
                        let samples = try CommitLogCodec.decode(row[3], sequence: sequence)
                        page.entries.append(
                            CommittedBatch(
                                sequence: sequence,
                                committedAt: row[1],
                                batch: TelemetryBatch(device: id, samples: samples)
                            )
                        )
                    } catch let error as SampleStoreError {
                        page.unreadable.append(error)
                    }
                }
                return page
            }
        } catch let error as SampleStoreError {
            throw error
        } catch {
            throw SampleStoreError(
                code: .database,
                message: "sample store '\(path)': reading the commit log after entry \(after) failed",
                cause: error
            )
        }
    }

    /// Deletes the entries up to `sequence`, in short transactions; returns how many.
    public func trimCommitLog(through sequence: Int64) async throws -> Int {
        var total = 0
        while true {
            let deleted: Int
            do {
                deleted = try await pool.write { db in
                    try db.execute(
                        sql: """
                            DELETE FROM commit_log WHERE seq IN (
                                SELECT seq FROM commit_log WHERE seq <= ? ORDER BY seq LIMIT ?
                            )
                            """,
                        arguments: [sequence, configuration.retention.batchSize]
                    )
                    return db.changesCount
                }
            } catch {
                throw SampleStoreError(
                    code: .database,
                    message: "sample store '\(path)': trimming the commit log through entry \(sequence) failed",
                    cause: error
                )
            }
            total += deleted
            if deleted < configuration.retention.batchSize { return total }
        }
    }

    /// At open: the newest sequence number ever logged.
    static func loadCommitLogHead(_ pool: DatabasePool) throws -> Int64 {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'commit_log'") ?? 0
        }
    }

    /// When the writer starts without ``SQLiteSampleStoreConfiguration/logsCommits``: empties
    /// the log (nobody reads it, and nothing would trim it). Done by the writer, not at open, so
    /// that a reader opened beside a running node (`reflex query`) never deletes the node's log.
    /// A failure is logged, not fatal: the leftover entries stay until a later start.
    func discardCommitLog() async {
        do {
            try await pool.write { db in try db.execute(sql: "DELETE FROM commit_log") }
        } catch {
            logger.warning(
                "Could not empty the unused commit log",
                metadata: ["store.path": "\(path)", "error": "\(error)"]
            )
        }
    }
}

/// One page of the commit log.
public struct CommitLogPage: Sendable {
    /// The decoded entries, oldest first.
    public var entries: [CommittedBatch] = []
    /// Entries that could not be decoded, each error naming its sequence number.
    public var unreadable: [SampleStoreError] = []
    /// The sequence number of the last row read (decoded or not); nil when the page is empty.
    public var lastSequence: Int64?

    /// An empty page.
    public init() {}
}
