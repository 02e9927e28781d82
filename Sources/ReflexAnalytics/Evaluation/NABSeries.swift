/// One NAB-format data file: rows of `timestamp,value`, kept with their original timestamp
/// text so that results can be written back row for row.
public struct NABSeries: Sendable, Equatable {
    /// One row of a NAB data file.
    public struct Row: Sendable, Equatable {
        /// The timestamp exactly as the file wrote it.
        public var timestampText: String
        /// The same instant in milliseconds since the Unix epoch (UTC).
        public var timestampMillis: Int64
        /// The value; may be NaN or infinite if the file says so (`nan`, `inf`).
        public var value: Double

        public init(timestampText: String, timestampMillis: Int64, value: Double) {
            self.timestampText = timestampText
            self.timestampMillis = timestampMillis
            self.value = value
        }
    }

    /// The rows in file order.
    public var rows: [Row]

    public init(rows: [Row]) {
        self.rows = rows
    }
}

/// Why a NAB file could not be read; names the file and the 1-based line.
public struct NABFormatError: Error, Equatable, CustomStringConvertible {
    /// The file, as given to the parser.
    public var file: String
    /// The 1-based line number (the header is line 1); 0 for a file-wide problem.
    public var line: Int
    /// What is wrong and what was expected.
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        line > 0 ? "\(file) line \(line): \(reason)" : "\(file): \(reason)"
    }
}
