import Logging
import ReflexCore
import ReflexStore
import ServiceLifecycle
import Synchronization

/// Catch-up: detection never skips a committed sample.
///
/// The store is the log. Every committed batch is a commit-log entry with a growing sequence
/// number (`commit_log`, written in the same transaction as the samples), and
/// ``DetectionCursor`` says which entry detection scored last. Entries normally arrive through
/// the store's in-memory ``CommitFeed`` (the fast path). When the feed missed some (it was full:
/// a burst), the next live entry shows the gap, or the feed runs dry while the store is ahead;
/// then the service reads the missing entries from the store, ``catchUpPage`` at a time, in
/// order, scores them, and goes back to the feed, skipping the entries catch-up already read.
/// At start it does the same from the checkpointed cursor: what was committed after the last
/// checkpoint before a crash is scored again from the restored states, so the detectors end up
/// exactly where an uninterrupted run would be.
extension DetectionService {
    /// Commit-log entries (batches) read per page while catching up.
    static let catchUpPage = 500

    /// How far behind the store detection is now.
    public var lag: DetectionLag {
        let cursor = engine.withLock { $0.cursor.position }
        let lastCommitted = store.lastCommittedSequence
        let counters = status.counters
        var seconds = 0.0
        if lastCommitted > cursor {
            let since = counters.lastScoredCommittedAt ?? startedAt
            seconds = max(0, Double(now() - since) / 1000)
        }
        return DetectionLag(
            cursor: cursor,
            lastCommitted: lastCommitted,
            secondsBehind: seconds,
            isCatchingUp: counters.isCatchingUp
        )
    }

    /// Why `/health` should say detection is degraded, or nil.
    public var degradation: String? { lag.degradation(limit: configuration.maxLag) }

    /// Loads the checkpointed cursor. None (a new database, or one from before the commit log)
    /// means the whole log is still to be scored; a cursor past the log's end (the log was
    /// reset) is pulled back to it, so that new entries are not taken for duplicates.
    func restoreCursor() async {
        let lastCommitted = store.lastCommittedSequence
        var cursor: Int64
        do {
            cursor = try await store.loadDetectionCursor() ?? 0
            loadedCursor.withLock { $0 = cursor }
        } catch {
            cursor = lastCommitted
            logger.error(
                "Reading the detection cursor failed; scoring from the newest commit on",
                metadata: ["detection.cursor": "\(cursor)", "error": "\(error)"]
            )
        }
        if cursor > lastCommitted {
            logger.warning(
                "The detection cursor is past the end of the commit log; continuing from the end",
                metadata: ["detection.cursor": "\(cursor)", "detection.lastCommitted": "\(lastCommitted)"]
            )
            cursor = lastCommitted
        }
        engine.withLock { $0.cursor = DetectionCursor(position: cursor) }
    }

    /// Scores what the store committed after the cursor, then every live entry, catching up
    /// whenever the feed missed some; until a graceful shutdown.
    func consume() async {
        guard await catchUp(through: store.lastCommittedSequence) else { return }
        for await _ in feed.wakeups.cancelOnGracefulShutdown() {
            guard await drainFeed() else { return }
        }
    }

    /// Scores the entries waiting in the feed, filling gaps from the store; then, when the
    /// feed is empty but the store is ahead (the newest entries did not fit), catches up.
    /// - Returns: false when a graceful shutdown interrupted it.
    private func drainFeed() async -> Bool {
        while true {
            // Read before taking: every entry up to it is then in `entries` or was dropped.
            let lastCommitted = store.lastCommittedSequence
            let entries = feed.take()
            for entry in entries {
                switch engine.withLock({ $0.cursor.step(for: entry.sequence) }) {
                case .duplicate:
                    continue
                case .next:
                    await process(entry)
                case .gap(_, let through):
                    guard await catchUp(through: through) else { return false }
                    await process(entry)
                }
            }
            if entries.isEmpty {
                if engine.withLock({ $0.cursor.position }) < lastCommitted {
                    return await catchUp(through: lastCommitted)
                }
                return true
            }
        }
    }

    /// Reads the commit-log entries after the cursor up to `end` from the store in pages and
    /// scores them in order. A read that fails is logged and retried after a second; an entry
    /// that cannot be decoded is logged, counted and passed over.
    /// - Returns: false when a graceful shutdown interrupted it.
    func catchUp(through end: Int64) async -> Bool {
        var position = engine.withLock { $0.cursor.position }
        guard position < end else { return true }
        let started = now()
        let from = position
        var batches = 0
        status.update { counters in
            counters.catchUps += 1
            counters.isCatchingUp = true
        }
        logger.info(
            "Detection is catching up from the commit log",
            metadata: ["detection.cursor": "\(position)", "detection.through": "\(end)"]
        )
        defer { status.update { $0.isCatchingUp = false } }
        while position < end {
            if Task.isShuttingDownGracefully || Task.isCancelled { return false }
            let page: CommitLogPage
            do {
                page = try await store.commitLogPage(after: position, through: end, limit: Self.catchUpPage)
            } catch {
                status.update { $0.logReadFailures += 1 }
                logger.error(
                    "Reading the commit log failed; retrying in 1 s",
                    metadata: ["detection.cursor": "\(position)", "error": "\(error)"]
                )
                do {
                    try await cancelWhenGracefulShutdown { try await self.clock.sleep(for: .seconds(1)) }
                } catch {
                    return false
                }
                continue
            }
            var samples = 0
            for entry in page.entries where await process(entry) {
                batches += 1
                samples += entry.batch.samples.count
            }
            for problem in page.unreadable {
                logger.error(
                    "A commit-log entry cannot be read; its samples are not scored",
                    metadata: ["error": "\(problem)"]
                )
            }
            // An empty page: the rest of the range holds no entries (not logged, or trimmed).
            position = max(position, page.lastSequence ?? end)
            engine.withLock { $0.cursor.advance(to: position) }
            status.update { [samples, unreadable = page.unreadable.count, entries = page.entries.count] counters in
                counters.batchesReplayed += entries
                counters.samplesReplayed += samples
                counters.unreadableEntries += unreadable
            }
        }
        let seconds = Double(max(0, now() - started)) / 1000
        status.update { [batches] counters in
            counters.lastCatchUpSeconds = seconds
            counters.lastCatchUpBatches = batches
        }
        logger.info(
            "Detection caught up",
            metadata: [
                "detection.from": "\(from)", "detection.through": "\(end)", "detection.batches": "\(batches)",
                "detection.seconds": "\(seconds)",
            ]
        )
        return true
    }

    /// Deletes the checkpointed entries from the commit log (a failure is retried at the next
    /// checkpoint, which trims through its own cursor).
    func trimLog(through cursor: Int64) async {
        guard cursor > 0 else { return }
        do {
            let deleted = try await store.trimCommitLog(through: cursor)
            if deleted > 0 {
                logger.debug(
                    "Trimmed the commit log",
                    metadata: ["detection.cursor": "\(cursor)", "detection.deleted": "\(deleted)"]
                )
            }
        } catch {
            status.update { $0.logTrimFailures += 1 }
            logger.warning(
                "Trimming the commit log failed; retrying at the next checkpoint",
                metadata: ["detection.cursor": "\(cursor)", "error": "\(error)"]
            )
        }
    }
}
