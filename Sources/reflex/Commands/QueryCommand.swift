import ArgumentParser
import Foundation
import Logging
import ReflexCore
import ReflexStore

/// `reflex query ...`: read stored telemetry from the data directory (until the HTTP API lands,
/// this is how people and scripts read data back).
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Read stored telemetry: series, latest values, raw ranges, aggregates, dead letters.",
        discussion: """
            These commands read the node's store (<data-dir>/samples.sqlite, or --store) directly and are safe to use while \
            `reflex serve` runs on it. Times are milliseconds since the epoch, RFC 3339 \
            (2026-11-26T10:00:00Z), or an age such as 90s, 15m, 2h, 7d (that long before now).

            Examples:
              reflex query series pump-7
              reflex query latest pump-7
              reflex query raw pump-7 temperature --from 1h
              reflex query aggregate pump-7 temperature --from 7d --step 1h
              reflex query state pump-7
              reflex query dead-letters
              reflex query anomalies pump-7
              reflex query anomalies pump-7 vibration --from 15m
            """,
        subcommands: [
            QuerySeries.self, QueryLatest.self, QueryRaw.self, QueryAggregate.self, QueryState.self,
            QueryDeadLetters.self, QueryAnomalies.self,
        ]
    )
}

/// Options shared by the query commands.
struct QueryOptions: ParsableArguments {
    @OptionGroup var registry: RegistryOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    /// Opens the sample store for reading, or prints why not and exits with status 1.
    func openStore() async throws -> any SampleQuerying & DeadLetterStore & DeviceStateStore & DetectionStore {
        let directory = registry.resolvedDataDirectory
        let location = try registry.resolvedStore()
        let reader: (any SampleQuerying & DeadLetterStore & DeviceStateStore & DetectionStore)?
        do {
            reader = try await StoreBackend.openReader(
                location,
                directory: directory,
                logger: Logger(label: "reflex.query", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        } catch {
            throw fail(error)
        }
        guard let reader else {
            throw fail(
                "no samples in '\(directory)' yet; start `reflex serve --data-dir \(directory)` and send telemetry"
            )
        }
        return reader
    }
}

/// Parses a time argument: epoch milliseconds, RFC 3339, or an age before `now`.
func parseTime(_ text: String, now: Int64) throws -> Int64 {
    if let milliseconds = Int64(text) { return milliseconds }
    if let date = try? Date(text, strategy: .iso8601) { return Int64(date.timeIntervalSince1970 * 1000) }
    if let age = parseDuration(text) { return now - age }
    throw ValidationError("'\(text)' is not a time: use epoch milliseconds, RFC 3339 or an age like 15m, 2h, 7d")
}

/// "90s", "15m", "2h", "7d" → milliseconds.
func parseDuration(_ text: String) -> Int64? {
    guard let unit = text.last, let count = Int64(text.dropLast()), count >= 0 else { return nil }
    switch unit {
    case "s": return count * 1000
    case "m": return count * 60_000
    case "h": return count * 3_600_000
    case "d": return count * 86_400_000
    default: return nil
    }
}

func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

func formatTimestamp(_ milliseconds: Int64) -> String {
    Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
}

struct QuerySeries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "series", abstract: "List a device's series.")
    @OptionGroup var options: QueryOptions
    @Argument(help: "Device id.") var device: String

    func run() async throws {
        let device = try parseDeviceID(device)
        let store = try await options.openStore()
        let series = try await reportingErrors { try await store.series(of: device) }
        if options.json {
            let rows = series.map {
                [
                    "metric": $0.metric.rawValue, "samples": "\($0.sampleCount)",
                    "first": $0.firstTimestamp.map(formatTimestamp) ?? "",
                    "last": $0.lastTimestamp.map(formatTimestamp) ?? "",
                ]
            }
            print(String(decoding: try jsonEncoder().encode(rows), as: UTF8.self))
            return
        }
        guard !series.isEmpty else {
            print("No series for '\(device)' yet.")
            return
        }
        let rows = series.map {
            [
                $0.metric.rawValue, "\($0.sampleCount)", $0.firstTimestamp.map(formatTimestamp) ?? "-",
                $0.lastTimestamp.map(formatTimestamp) ?? "-",
            ]
        }
        print(table(["METRIC", "SAMPLES", "FIRST", "LAST"], rows))
    }
}

struct QueryLatest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latest", abstract: "Show a device's latest values.")
    @OptionGroup var options: QueryOptions
    @Argument(help: "Device id.") var device: String

    func run() async throws {
        let device = try parseDeviceID(device)
        let store = try await options.openStore()
        let latest = store.latest(device: device).sorted { $0.key < $1.key }
        if options.json {
            print(String(decoding: try jsonEncoder().encode(latest.map(\.value)), as: UTF8.self))
            return
        }
        guard !latest.isEmpty else {
            print("No values for '\(device)' yet.")
            return
        }
        print(
            table(
                ["METRIC", "VALUE", "TIME"],
                latest.map { [$0.key.rawValue, "\($0.value.value)", formatTimestamp($0.value.timestamp)] }
            )
        )
    }
}

struct QueryRaw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "raw", abstract: "Show raw samples of one series.")
    @OptionGroup var options: QueryOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "Metric name.") var metric: String
    @Option(help: "Start (inclusive; default 1h ago).") var from = "1h"
    @Option(help: "End (exclusive; default now).") var to: String?
    @Option(help: "At most this many samples.") var limit = 1000

    func run() async throws {
        let key = try seriesKey(device, metric)
        let now = nowMilliseconds()
        let start = try parseTime(from, now: now)
        let end = try to.map { try parseTime($0, now: now) } ?? now + 1
        let store = try await options.openStore()
        let page = try await reportingErrors {
            try await store.rawRange(key, from: start, to: end, limit: limit, cursor: nil)
        }
        if options.json {
            print(String(decoding: try jsonEncoder().encode(page.samples), as: UTF8.self))
            return
        }
        print(table(["TIME", "VALUE"], page.samples.map { [formatTimestamp($0.timestamp), "\($0.value)"] }))
        if page.nextCursor != nil { print("(more than \(limit); raise --limit or narrow --from/--to)") }
    }
}

struct QueryAggregate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: "Show min/max/mean/count per step of one series (served from rollups)."
    )
    @OptionGroup var options: QueryOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "Metric name.") var metric: String
    @Option(help: "Start (inclusive; default 1d ago).") var from = "1d"
    @Option(help: "End (exclusive; default now).") var to: String?
    @Option(help: "Bucket width, e.g. 1m, 15m, 1h.") var step = "1h"

    func run() async throws {
        let key = try seriesKey(device, metric)
        guard let stepMilliseconds = parseDuration(step), stepMilliseconds > 0 else {
            throw ValidationError("--step '\(step)' is not a duration like 1m, 15m, 1h")
        }
        let now = nowMilliseconds()
        let start = try parseTime(from, now: now)
        let end = try to.map { try parseTime($0, now: now) } ?? now + 1
        let store = try await options.openStore()
        let points = try await reportingErrors {
            try await store.aggregate(key, from: start, to: end, step: .milliseconds(stepMilliseconds))
        }
        if options.json {
            let rows = points.map { point -> [String: Double] in
                [
                    "start": Double(point.start), "min": point.min, "max": point.max, "mean": point.mean,
                    "count": Double(point.count), "last": point.last,
                ]
            }
            print(String(decoding: try jsonEncoder().encode(rows), as: UTF8.self))
            return
        }
        print(
            table(
                ["START", "MIN", "MAX", "MEAN", "COUNT", "LAST"],
                points.map {
                    [formatTimestamp($0.start), "\($0.min)", "\($0.max)", "\($0.mean)", "\($0.count)", "\($0.last)"]
                }
            )
        )
    }
}

struct QueryState: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Show a device's online/offline status and its last reported attributes."
    )
    @OptionGroup var options: QueryOptions
    @Argument(help: "Device id.") var device: String

    func run() async throws {
        let device = try parseDeviceID(device)
        let store = try await options.openStore()
        guard let state = try await reportingErrors({ try await store.deviceState(device) }) else {
            print(options.json ? "null" : "Nothing recorded for '\(device)' yet.")
            return
        }
        if options.json {
            print(String(decoding: try jsonEncoder().encode(state), as: UTF8.self))
            return
        }
        print(
            "status:      \(terminalSafe(state.status ?? "-"))\(state.statusAt.map { " since \(formatTimestamp($0))" } ?? "")\(state.statusReason.map { " (\(terminalSafe($0)))" } ?? "")"
        )
        print(
            "attributes:  \(terminalSafe(state.attributes ?? "-"))\(state.attributesAt.map { " (reported \(formatTimestamp($0)))" } ?? "")"
        )
    }
}

struct QueryDeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Show rejected telemetry, newest first, with the reason."
    )
    @OptionGroup var options: QueryOptions
    @Option(help: "At most this many.") var limit = 20

    func run() async throws {
        let store = try await options.openStore()
        let letters = try await reportingErrors { try await store.deadLetters(limit: limit, before: nil) }
        if options.json {
            let rows = letters.map { letter -> [String: String] in
                [
                    "receivedAt": formatTimestamp(letter.receivedAt), "device": letter.device?.rawValue ?? "",
                    "topic": letter.topic, "reason": letter.reason, "payloadSize": "\(letter.payloadSize)",
                    "payload": String(decoding: letter.payload, as: UTF8.self),
                ]
            }
            print(String(decoding: try jsonEncoder().encode(rows), as: UTF8.self))
            return
        }
        guard !letters.isEmpty else {
            print("No dead letters.")
            return
        }
        let rows = letters.map {
            [formatTimestamp($0.receivedAt), $0.device?.rawValue ?? "-", $0.topic, $0.reason, "\($0.payloadSize) B"]
        }
        print(table(["RECEIVED", "DEVICE", "TOPIC", "REASON", "PAYLOAD"], rows))
    }
}

struct QueryAnomalies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anomalies",
        abstract: "Show anomaly scores with the detector's expected band: per metric, or one metric over time."
    )
    @OptionGroup var options: QueryOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "Metric name; without it, the newest score of every metric.") var metric: String?
    @Option(help: "Start (inclusive; default 1h ago).") var from = "1h"
    @Option(help: "End (exclusive; default now).") var to: String?
    @Option(help: "At most this many points (one metric).") var limit = 1000

    func run() async throws {
        let now = nowMilliseconds()
        let start = try parseTime(from, now: now)
        let end = try to.map { try parseTime($0, now: now) } ?? now + 1
        let store = try await options.openStore()
        var rows: [(metric: String, point: AnomalyPoint)] = []
        if let metric {
            let key = try seriesKey(device, metric)
            let points = try await reportingErrors {
                try await store.anomalyPoints(key, from: start, to: end, limit: limit)
            }
            rows = points.map { (metric, $0) }
        } else {
            let id = try parseDeviceID(device)
            let series = try await reportingErrors { try await store.series(of: id) }
            for info in series where !info.metric.rawValue.hasPrefix("anomaly:") {
                let points = try await reportingErrors {
                    try await store.anomalyPoints(
                        SeriesKey(device: id, metric: info.metric),
                        from: start,
                        to: end,
                        limit: 1_000_000
                    )
                }
                if let last = points.last { rows.append((info.metric.rawValue, last)) }
            }
        }
        if options.json {
            let objects = rows.map { row -> [String: String] in
                var object = [
                    "metric": row.metric, "ts": "\(row.point.timestamp)", "value": "\(row.point.value)",
                    "score": "\(row.point.score)",
                ]
                object["expected"] = row.point.expected.map { "\($0)" }
                object["lower"] = row.point.lower.map { "\($0)" }
                object["upper"] = row.point.upper.map { "\($0)" }
                return object
            }
            print(String(decoding: try jsonEncoder().encode(objects), as: UTF8.self))
            return
        }
        guard !rows.isEmpty else {
            print("No scores for '\(device)'\(metric.map { " metric '\($0)'" } ?? "") in that range.")
            return
        }
        func text(_ value: Double?) -> String { value.map { String(format: "%.4g", $0) } ?? "-" }
        print(
            table(
                ["METRIC", "TIME", "VALUE", "SCORE", "EXPECTED", "LOWER", "UPPER"],
                rows.map {
                    [
                        $0.metric, formatTimestamp($0.point.timestamp), text($0.point.value),
                        String(format: "%.3f", $0.point.score), text($0.point.expected), text($0.point.lower),
                        text($0.point.upper),
                    ]
                }
            )
        )
    }
}

func seriesKey(_ device: String, _ metric: String) throws -> SeriesKey {
    let device = try parseDeviceID(device)
    do {
        return SeriesKey(device: device, metric: try MetricName(validating: metric))
    } catch {
        throw ValidationError("\(error)")
    }
}
