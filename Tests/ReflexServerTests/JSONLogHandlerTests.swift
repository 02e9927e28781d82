import Foundation
import Logging
import ReflexNode
import ReflexServer
import Synchronization
import Testing

@Suite struct JSONLogHandlerTests {
    /// Collects the lines a handler writes.
    final class Lines: Sendable {
        private let storage = Mutex<[String]>([])
        var all: [String] { storage.withLock { $0 } }
        func append(_ line: String) { storage.withLock { $0.append(line) } }
    }

    private func logger(_ lines: Lines, level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "reflex.test") { label in
            JSONLogHandler(label: label, output: { lines.append($0) })
        }
        logger.logLevel = level
        return logger
    }

    @Test("each event is one JSON object per line with flattened metadata") func oneObjectPerLine() throws {
        let lines = Lines()
        var logger = logger(lines)
        logger[metadataKey: "component"] = "mqtt"
        logger.info(
            "Client connected",
            metadata: [
                "mqtt": ["client": "pump-7", "version": "5"],
                "level": "shadowed",
                "tags": ["a", "b"],
                "note": "quote \" backslash \\ newline \n tab \t bell \u{07}",
            ]
        )
        #expect(lines.all.count == 1)
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.filter { $0 == "\n" }.count == 1)
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["label"] as? String == "reflex.test")
        #expect(object["message"] as? String == "Client connected")
        #expect(object["component"] as? String == "mqtt")
        #expect(object["mqtt.client"] as? String == "pump-7")
        #expect(object["mqtt.version"] as? String == "5")
        #expect(object["metadata.level"] as? String == "shadowed")
        #expect(object["tags"] as? [String] == ["a", "b"])
        #expect(object["note"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{07}")
        let timestamp = try #require(object["ts"] as? String)
        #expect(timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
        #expect(line.hasPrefix("{\"ts\":"))
    }

    @Test("events below the level are not written") func level() {
        let lines = Lines()
        let logger = logger(lines, level: .warning)
        logger.info("quiet")
        logger.warning("loud")
        #expect(lines.all.count == 1)
        #expect(lines.all.first?.contains("\"message\":\"loud\"") == true)
    }

    @Test("the configuration picks the handler for its format") func handlerForFormat() {
        var configuration = NodeConfiguration()
        configuration.logLevel = .debug
        configuration.logFormat = .json
        let json = configuration.makeLogHandler(label: "x")
        #expect(json is SanitizingLogHandler<JSONLogHandler>)
        #expect(json.logLevel == .debug)
        configuration.logFormat = .text
        #expect(configuration.makeLogHandler(label: "x") is SanitizingLogHandler<StreamLogHandler>)
    }
}
