public import Logging

extension NodeConfiguration {
    /// A log handler for `label` in this configuration's format and level, writing to standard
    /// error: for the executable's one `LoggingSystem.bootstrap`.
    ///
    /// `text` gives swift-log's `StreamLogHandler`, `json` gives ``JSONLogHandler``.
    public func makeLogHandler(label: String) -> any LogHandler {
        switch logFormat {
        case .text:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        case .json:
            var handler = JSONLogHandler(label: label)
            handler.logLevel = logLevel
            return handler
        }
    }
}
