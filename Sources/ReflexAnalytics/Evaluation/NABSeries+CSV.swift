extension NABSeries {
    /// Parses a NAB data file (a header naming `timestamp` and `value` columns, then one row per
    /// line). Blank lines are skipped; `\r\n` line ends are accepted.
    ///
    /// - Parameters:
    ///   - text: the whole file.
    ///   - file: the name used in error messages.
    /// - Throws: `NABFormatError` naming the file and line of the first malformed row.
    /// - Complexity: O(length of `text`).
    public init(csv text: String, file: String) throws(NABFormatError) {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).makeIterator()
        var lineNumber = 1
        guard let headerLine = lines.next(), !text.allSatisfy(\.isWhitespace) else {
            throw NABFormatError(file: file, line: 0, reason: "the file is empty")
        }
        let header = Self.fields(headerLine).map { $0.lowercased() }
        guard let timeColumn = header.firstIndex(of: "timestamp"), let valueColumn = header.firstIndex(of: "value")
        else {
            throw NABFormatError(
                file: file,
                line: 1,
                reason: "the header must name 'timestamp' and 'value' columns, found '\(headerLine)'"
            )
        }
        var rows: [Row] = []
        while let line = lines.next() {
            lineNumber += 1
            let fields = Self.fields(line)
            if fields.count == 1 && fields[0].isEmpty { continue }
            guard fields.count > max(timeColumn, valueColumn) else {
                throw NABFormatError(
                    file: file,
                    line: lineNumber,
                    reason: "expected \(header.count) fields, found \(fields.count)"
                )
            }
            let stamp = fields[timeColumn]
            guard let millis = NABTimestamp.millis(stamp) else {
                throw NABFormatError(
                    file: file,
                    line: lineNumber,
                    reason: "timestamp '\(stamp)' is not of the form 2014-04-01 00:00:00"
                )
            }
            guard let value = Double(fields[valueColumn]) else {
                throw NABFormatError(
                    file: file,
                    line: lineNumber,
                    reason: "value '\(fields[valueColumn])' is not a number"
                )
            }
            rows.append(Row(timestampText: String(stamp), timestampMillis: millis, value: value))
        }
        self.init(rows: rows)
    }

    private static func fields(_ line: Substring) -> [Substring] {
        line.split(separator: ",", omittingEmptySubsequences: false).map(trim)
    }

    private static func trim(_ field: Substring) -> Substring {
        var field = field
        while let first = field.first, first == " " || first == "\"" { field = field.dropFirst() }
        while let last = field.last, last == " " || last == "\"" || last == "\r" { field = field.dropLast() }
        return field
    }

    /// The NAB results file for these rows and `scores`: header `timestamp,value,anomaly_score`,
    /// then one line per row with the original timestamp text.
    ///
    /// - Precondition: `scores.count == rows.count`.
    public func resultsCSV(scores: [Double]) -> String {
        precondition(scores.count == rows.count, "one score per row")
        var out = "timestamp,value,anomaly_score\n"
        out.reserveCapacity(rows.count * 40)
        for (row, score) in zip(rows, scores) {
            out += row.timestampText
            out += ","
            out += Self.format(row.value)
            out += ","
            out += Self.format(score)
            out += "\n"
        }
        return out
    }

    private static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
