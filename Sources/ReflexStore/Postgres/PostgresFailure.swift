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
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError, error.rollbackError]
                .contains { $0.map(isUnavailable) ?? false }
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
        if let error = error as? SampleStoreError {
            return SampleStoreError(code: error.code, message: "\(what) failed: \(error.message)", cause: error.cause)
        }
        let code: SampleStoreError.Code = isUnavailable(error) ? .unavailable : .database
        let suffix = code == .unavailable ? "; the database is unreachable, retry later" : ""
        return SampleStoreError(
            code: code,
            message: "\(what) failed: \(describe(error))\(suffix)",
            cause: error
        )
    }

    /// PostgreSQL's words for `error`; for a failed transaction, those of the step that failed
    /// first (`BEGIN`, the body, `COMMIT`), and of a failed rollback.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PostgresTransactionError else { return PostgresDatabase.describe(error) }
        var parts: [String] = []
        if let begin = error.beginError { parts.append("BEGIN: \(describe(begin))") }
        if let body = error.closureError { parts.append(describe(body)) }
        if let commit = error.commitError { parts.append("COMMIT: \(describe(commit))") }
        if let rollback = error.rollbackError { parts.append("and the rollback: \(describe(rollback))") }
        return parts.isEmpty ? "the transaction failed" : parts.joined(separator: "; ")
    }
}
