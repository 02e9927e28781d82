import NIOCore
import PostgresNIO

/// Sorts PostgreSQL failures into "the server is unreachable" (nothing was stored, a retry later
/// may succeed: ``SampleStoreError/Code/unavailable``) and everything else (``SampleStoreError/Code/database``).
enum PostgresFailure {
    /// Whether `error` says the server or the connection went away rather than that a statement
    /// failed: a closed or broken connection, a pool that cannot connect, a server shutting down
    /// (SQLSTATE class 08 "connection exception" and 57P0x "operator intervention").
    static func isUnavailable(_ error: any Error) -> Bool {
        if let error = error as? SampleStoreError {
            return error.code == .unavailable || (error.cause.map(isUnavailable) ?? false)
        }
        if error is ChannelError || error is IOError { return true }
        // The pool's own errors (a tripped connection circuit breaker while the server is down)
        // are of `_ConnectionPoolModule`, which this target does not import: matched by name.
        if String(describing: type(of: error)) == "ConnectionPoolError" { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed,
            .queryCancelled:
            return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default:
            return error.underlying.map(isUnavailable) ?? false
        }
    }

    /// `error` as a ``SampleStoreError`` saying what failed where: `unavailable` when the server
    /// is unreachable, else `database`; PostgreSQL's own words are in the message.
    static func storeError(_ error: any Error, _ what: String) -> SampleStoreError {
        if let error = error as? SampleStoreError { return error }
        let code: SampleStoreError.Code = isUnavailable(error) ? .unavailable : .database
        let suffix = code == .unavailable ? "; the database is unreachable, retry later" : ""
        return SampleStoreError(
            code: code,
            message: "\(what) failed: \(PostgresDatabase.describe(error))\(suffix)",
            cause: error
        )
    }
}
