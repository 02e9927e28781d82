/// A failure of the sample store: a stable ``code``, a message that names what and where, and
/// the underlying ``cause`` when a lower layer (SQLite, PostgreSQL) failed.
public struct SampleStoreError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible error category; switch on it with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case overloaded, closed, unavailable, invalidSample, invalidQuery, database, alreadyRunning
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The pending list is full: the caller should not acknowledge and should retry later.
        public static let overloaded = Code(.overloaded)
        /// The store is shut down (or shutting down) and accepts no more writes.
        public static let closed = Code(.closed)
        /// The database server cannot be reached (a lost PostgreSQL connection): nothing was
        /// stored; the store reconnects, and a retry later may succeed.
        public static let unavailable = Code(.unavailable)
        /// A sample cannot be stored (for example a value that is not finite).
        public static let invalidSample = Code(.invalidSample)
        /// A query's arguments are out of range.
        public static let invalidQuery = Code(.invalidQuery)
        /// The database (SQLite or PostgreSQL) failed; ``SampleStoreError/cause`` holds its error.
        public static let database = Code(.database)
        /// ``SQLiteSampleStore/run()`` was called while the writer is already running.
        public static let alreadyRunning = Code(.alreadyRunning)

        public var description: String { base.rawValue }
    }

    /// The category.
    public var code: Code
    /// What went wrong and where, for a person.
    public var message: String
    /// The lower-level error, if any.
    public var cause: (any Error)?

    /// Creates an error.
    public init(code: Code, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause {
            return "\(code): \(message) (cause: \(cause))"
        }
        return "\(code): \(message)"
    }
}
