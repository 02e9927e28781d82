import Foundation
import Hummingbird
import ReflexNode

/// Reads and checks query parameters; every failure is a 400 that names the parameter.
struct QueryParameters {
    let parameters: Hummingbird.Parameters

    init(_ request: Request) {
        self.parameters = request.uri.queryParameters
    }

    /// The raw text of `name`, if given and not empty.
    func text(_ name: String) -> String? {
        guard let value = parameters.get(name), !value.isEmpty else { return nil }
        return value
    }

    /// A time: milliseconds since the epoch (an integer) or RFC 3339 text.
    func time(_ name: String) throws -> Int64? {
        guard let text = text(name) else { return nil }
        guard let value = Self.parseTime(text) else {
            throw APIError.badParameter(
                name,
                text,
                expected: "milliseconds since the epoch or an RFC 3339 time such as 2026-01-02T03:04:05Z"
            )
        }
        return value
    }

    /// A positive integer no greater than `cap`; `defaultValue` when absent.
    func limit(_ name: String = "limit", default defaultValue: Int, cap: Int) throws -> Int {
        guard let text = text(name) else { return defaultValue }
        guard let value = Int(text), value >= 1, value <= cap else {
            throw APIError.badParameter(name, text, expected: "an integer from 1 to \(cap)")
        }
        return value
    }

    /// An integer (a cursor or dead-letter id).
    func integer(_ name: String) throws -> Int64? {
        guard let text = text(name) else { return nil }
        guard let value = Int64(text) else {
            throw APIError.badParameter(name, text, expected: "an integer from a previous page")
        }
        return value
    }

    /// A duration such as `500ms`, `30s`, `1m`, `15m`, `1h`, `1d` (at least 1 ms).
    func step(_ name: String = "step", default defaultValue: Duration) throws -> Duration {
        guard let text = text(name) else { return defaultValue }
        guard let milliseconds = Self.parseStep(text), milliseconds >= 1 else {
            throw APIError.badParameter(name, text, expected: "a duration such as 30s, 1m, 15m, 1h or 1d")
        }
        return .milliseconds(milliseconds)
    }

    /// `[from, to)` with defaults `to` = now + 1 ms and `from` = `to` - `span`; `from` < `to`.
    func range(now: Int64, defaultSpan: Int64) throws -> (from: Int64, to: Int64) {
        let to = try time("to") ?? now + 1
        let from = try time("from") ?? to - defaultSpan
        guard from < to else {
            throw APIError(
                .badRequest,
                code: "invalid_parameter",
                message: "parameter 'from' (\(from)) must be before 'to' (\(to))"
            )
        }
        return (from, to)
    }

    static func parseTime(_ text: String) -> Int64? {
        if let value = Int64(text) { return value }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        return nil
    }

    static func parseStep(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let number = Int64(text.dropLast(suffix.count)), number > 0 else { return nil }
            let (product, overflow) = number.multipliedReportingOverflow(by: factor)
            return overflow ? nil : product
        }
        return nil
    }
}
