public import Logging
import ReflexNode

/// A log handler that passes every event to `inner` with its message, metadata (keys and
/// values, nested ones included) and error escaped and token-redacted by ``LogSanitizer``:
/// the node's last line of defence against forged log lines, terminal escapes and tokens in
/// the log, whatever a call site logs.
///
/// It owns the level, the handler metadata and the metadata provider, merges them (provider
/// over handler metadata, the event's own over both, as swift-log's handlers do) and hands
/// `inner` one sanitized metadata dictionary; `inner`'s own metadata and provider stay empty.
public struct SanitizingLogHandler<Inner: LogHandler>: LogHandler {
    /// The handler that writes the sanitized events.
    public var inner: Inner
    /// Events below this level are not written.
    public var logLevel: Logger.Level
    /// Metadata added to every event.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata added to every event.
    public var metadataProvider: Logger.MetadataProvider?
    /// Whether the error goes into metadata as `error.message` and `error.type` (text lines),
    /// or stays the event's error, with a sanitized description (JSON lines write it as `error`).
    public var errorAsMetadata: Bool

    /// - Parameters:
    ///   - inner: writes the events; its metadata and metadata provider are cleared.
    ///   - metadataProvider: contextual metadata for every event.
    ///   - errorAsMetadata: see ``errorAsMetadata``.
    public init(_ inner: Inner, metadataProvider: Logger.MetadataProvider? = nil, errorAsMetadata: Bool) {
        var inner = inner
        inner.metadata = [:]
        inner.metadataProvider = nil
        self.logLevel = inner.logLevel
        inner.logLevel = .trace
        self.inner = inner
        self.metadataProvider = metadataProvider
        self.errorAsMetadata = errorAsMetadata
    }

    /// One entry of ``metadata``.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error {
            let description = LogSanitizer.sanitized("\(error)")
            if errorAsMetadata {
                merged["error.message"] = .string(description)
                merged["error.type"] = .string(String(reflecting: type(of: error)))
                event.error = nil
            } else {
                event.error = LoggedError(description: description)
            }
        }
        event.message = Logger.Message(stringLiteral: LogSanitizer.sanitized("\(event.message)"))
        event.metadata = merged.isEmpty ? nil : Self.sanitized(merged)
        inner.log(event: event)
    }

    static func sanitized(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result: Logger.Metadata = [:]
        for (key, value) in metadata {
            result[LogSanitizer.sanitized(key)] = sanitized(value)
        }
        return result
    }

    static func sanitized(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let string): .string(LogSanitizer.sanitized(string))
        case .stringConvertible(let convertible): .string(LogSanitizer.sanitized(convertible.description))
        case .array(let values): .array(values.map(sanitized))
        case .dictionary(let dictionary): .dictionary(sanitized(dictionary))
        }
    }
}

/// An error logged in place of another, carrying only its sanitized description.
struct LoggedError: Error, CustomStringConvertible {
    var description: String
}
