import GRDB
import GRDBSQLite

/// The few SQLite C calls the hot paths need, on statements GRDB prepared and cached.
///
/// Why not GRDB's `execute(arguments:)`: it builds a `StatementArguments` array of
/// `DatabaseValue`s per row, several allocations per sample; binding integers and doubles
/// directly keeps the commit loop allocation-free. GRDB's transaction observation is bypassed,
/// which is fine: this store registers no observers.
extension Statement {
    @inline(__always)
    func bind(_ value: Int64, at index: Int32) {
        sqlite3_bind_int64(sqliteStatement, index, value)
    }

    @inline(__always)
    func bind(_ value: Double, at index: Int32) {
        sqlite3_bind_double(sqliteStatement, index, value)
    }

    /// Runs the bound statement to completion and resets it for the next row.
    /// - Throws: `DatabaseError` with SQLite's message and the SQL.
    @inline(__always)
    func run(in db: Database) throws {
        var code = sqlite3_step(sqliteStatement)
        while code == SQLITE_ROW { code = sqlite3_step(sqliteStatement) }
        sqlite3_reset(sqliteStatement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: sql)
        }
    }

    /// Steps through the result rows, calling `body` with the raw statement for each, then
    /// resets the statement.
    @inline(__always)
    func forEachRow(in db: Database, _ body: (OpaquePointer) throws -> Void) throws {
        defer { sqlite3_reset(sqliteStatement) }
        while true {
            let code = sqlite3_step(sqliteStatement)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: sql)
            }
            try body(sqliteStatement)
        }
    }
}

/// Column readers for ``Statement/forEachRow(in:_:)``.
enum SQLiteColumn {
    @inline(__always)
    static func int64(_ statement: OpaquePointer, _ index: Int32) -> Int64 {
        sqlite3_column_int64(statement, index)
    }

    @inline(__always)
    static func double(_ statement: OpaquePointer, _ index: Int32) -> Double {
        sqlite3_column_double(statement, index)
    }

    @inline(__always)
    static func isNull(_ statement: OpaquePointer, _ index: Int32) -> Bool {
        sqlite3_column_type(statement, index) == SQLITE_NULL
    }
}
