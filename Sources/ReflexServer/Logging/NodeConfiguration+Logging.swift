public import Logging
import ReflexNode

extension NodeConfiguration {
    /// A log handler for `label` in this configuration's format and level, writing to standard
    /// error: for the executable's one `LoggingSystem.bootstrap`.
    ///
    /// `text` gives swift-log's `StreamLogHandler`, `json` gives ``JSONLogHandler``; both behind
    /// a ``SanitizingLogHandler``, so that no field (message, metadata, error) can carry a
    /// control character (a forged line, a terminal escape) or a token into the log.
    public func makeLogHandler(label: String) -> any LogHandler {
        switch logFormat {
        case .text:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return SanitizingLogHandler(
                handler,
                metadataProvider: LoggingSystem.metadataProvider,
                errorAsMetadata: true
            )
        case .json:
            var handler = JSONLogHandler(label: label)
            handler.logLevel = logLevel
            return SanitizingLogHandler(
                handler,
                metadataProvider: LoggingSystem.metadataProvider,
                errorAsMetadata: false
            )
        }
    }
}
