import Foundation
public import Logging
import ReflexNode

/// A log handler that writes one JSON object per line, for log shippers.
///
/// Each line has `ts` (ISO 8601 in UTC with milliseconds), `level`, `label` and `message`, then
/// the metadata flattened into the same object with dotted keys (`["mqtt": ["client": "a"]]`
/// becomes `"mqtt.client": "a"`), sorted by key, and `error` when the event carries one. A
/// metadata key that collides with one of the fixed keys is written as `metadata.<key>`.
/// Values are strings, or arrays for list metadata.
///
/// ```
/// {"ts":"2026-11-20T10:00:00.123Z","level":"info","label":"reflex","message":"Node started","mqtt.listen":"0.0.0.0:1883"}
/// ```
public struct JSONLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Events below this level are not written.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every line (the logger's own metadata).
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata added to every line; explicit metadata wins over it.
    public var metadataProvider: Logger.MetadataProvider?
    private let output: @Sendable (String) -> Void

    /// - Parameters:
    ///   - label: the logger's label, written as `label`.
    ///   - metadataProvider: adds contextual metadata to every line.
    ///   - output: receives each line, newline included; by default standard error.
    public init(
        label: String,
        metadataProvider: Logger.MetadataProvider? = nil,
        output: @escaping @Sendable (String) -> Void = JSONLogHandler.writeToStandardError
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output
    }

    /// Writes a line to standard error in one `write` call per line (FileHandle loops on short writes).
    @Sendable public static func writeToStandardError(_ line: String) {
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// One entry of ``metadata``.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes the event as one line: handler metadata, then provider metadata, then the
    /// event's own metadata, later ones winning on equal keys.
    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        output(
            Self.line(
                date: Date(),
                level: event.level,
                label: label,
                message: "\(event.message)",
                metadata: merged,
                error: event.error
            )
        )
    }

    private static let reservedKeys: Set<String> = ["ts", "level", "label", "message", "error"]
    private static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// One JSON line for an event, newline included.
    static func line(
        date: Date,
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata,
        error: (any Error)?
    ) -> String {
        var flat: [(key: String, value: String)] = []
        flatten(metadata, prefix: "", into: &flat)
        var json = "{\"ts\":\(quoted(timestampStyle.format(date))),\"level\":\(quoted(level.rawValue))"
        json += ",\"label\":\(quoted(label)),\"message\":\(quoted(message))"
        for (key, value) in flat.sorted(by: { $0.key < $1.key }) {
            let name = reservedKeys.contains(key) ? "metadata.\(key)" : key
            json += ",\(quoted(name)):\(value)"
        }
        if let error { json += ",\"error\":\(quoted("\(error)"))" }
        return json + "}\n"
    }

    /// Flattens nested dictionaries into dotted keys; values are already JSON-encoded.
    private static func flatten(
        _ metadata: Logger.Metadata,
        prefix: String,
        into flat: inout [(key: String, value: String)]
    ) {
        for (key, value) in metadata {
            let name = prefix.isEmpty ? key : "\(prefix).\(key)"
            if case .dictionary(let nested) = value {
                flatten(nested, prefix: name, into: &flat)
            } else {
                flat.append((name, encode(value)))
            }
        }
    }

    private static func encode(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): quoted(string)
        case .stringConvertible(let convertible): quoted(convertible.description)
        case .array(let values): "[" + values.map(encode).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{"
                + dictionary.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(encode($0.value))" }
                .joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal (RFC 8259 §7): quotes, backslashes and control characters escaped;
    /// also DEL, the C1 controls and U+2028/U+2029, which JSON allows raw but which terminals
    /// and JavaScript readers of the log would act on.
    static func quoted(_ text: String) -> String {
        var result = "\""
        result.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let control
            where control.value < 0x20 || (0x7F...0x9F).contains(control.value)
                || control.value == 0x2028 || control.value == 0x2029:
                let hex = String(control.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
