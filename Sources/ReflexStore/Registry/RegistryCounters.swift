import Synchronization

/// What a registry (``SQLiteDeviceRegistry``, ``PostgresDeviceRegistry``) has cost since it was
/// opened: database reads, token hashes and change checks. Shows that the caches work (an unauthenticated flood should move
/// `tokenHashes` by about one per attempt and `databaseReads` hardly at all). Thread-safe.
public final class RegistryCounters: Sendable {
    /// A snapshot of the counters.
    public struct Values: Sendable, Hashable {
        /// Reads of device or operator-token rows from storage (cache misses).
        public var databaseReads = 0
        /// SHA-256 computations over a presented token (lookup keys and salted hashes).
        public var tokenHashes = 0
        /// Change-counter reads (SQLite's `PRAGMA data_version`, PostgreSQL's `registry_generation`),
        /// one per credential check and per watcher poll.
        public var changeChecks = 0
        /// Times the caches were dropped because the registry changed.
        public var invalidations = 0
    }

    private let state = Mutex(Values())

    init() {}

    /// The counts so far.
    public var values: Values { state.withLock { $0 } }

    func update(_ change: (inout Values) -> Void) {
        state.withLock { change(&$0) }
    }
}
