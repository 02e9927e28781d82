import Foundation
import Logging
import Synchronization
import Testing

@testable import ReflexNode
@testable import ReflexServer

@Suite("Log sanitizing: escaped controls and redacted tokens")
struct LogSanitizerTests {
    @Test(
        "control characters are escaped",
        arguments: [
            ("a\nb", "a\\nb"),
            ("a\r\nb", "a\\r\\nb"),
            ("tab\there", "tab\\there"),
            ("\u{1B}[31mred\u{07}", "\\u{1B}[31mred\\u{7}"),
            ("nul\u{0}", "nul\\u{0}"),
            ("del\u{7F}", "del\\u{7F}"),
            ("csi\u{9B}2J", "csi\\u{9B}2J"),
            ("nel\u{85}", "nel\\u{85}"),
            ("ls\u{2028}ps\u{2029}", "ls\\u{2028}ps\\u{2029}"),
            ("rlo\u{202E}olleh", "rlo\\u{202E}olleh"),
            ("plain pump-7 ü 温度", "plain pump-7 ü 温度"),
        ]
    )
    func escapesControls(input: String, expected: String) {
        #expect(LogSanitizer.escapingControls(input) == expected)
    }

    @Test(
        "token-looking values keep their prefix only",
        arguments: [
            ("rfx_dev_AbC123-_xyz", "rfx_dev_<redacted>"),
            ("user rfx_op_S3cr3t and rfx_dev_t0k", "user rfx_op_<redacted> and rfx_dev_<redacted>"),
            ("operator:rfx_op_abc.def", "operator:rfx_op_<redacted>.def"),
            ("rfx_dev_", "rfx_dev_"),
            ("rfx_device-7", "rfx_device-7"),
            ("pump-7", "pump-7"),
        ]
    )
    func redactsTokens(input: String, expected: String) {
        #expect(LogSanitizer.redactingTokens(input) == expected)
    }

    @Test("a forged critical line stays on one line, in text and JSON")
    func forgedLine() throws {
        let forged = "pumpA\n2026-12-07T01:00:00+0000 critical reflex: [ReflexServer] Node compromised\u{1B}[2J"
        for format in [NodeConfiguration.LogFormat.text, .json] {
            let lines = Lines()
            var logger = Logger(label: "reflex") { label in
                Self.handler(format: format, label: label, lines: lines)
            }
            logger.logLevel = .info
            logger[metadataKey: "node"] = "n\u{1B}1"
            logger.notice(
                "Refused \(forged)",
                metadata: ["mqtt.clientID": "\(forged)", "nested": ["rfx_op_x\n": .array([.string("rfx_dev_abc")])]]
            )
            logger.error("Failed", error: ForgedError())
            let text = lines.text
            #expect(text.split(separator: "\n").count == 2, "\(format): \(text)")
            #expect(!text.contains("\u{1B}"), "\(format)")
            #expect(!text.contains("rfx_dev_abc") && !text.contains("rfx_op_x") && !text.contains("rfx_dev_secret"))
            #expect(text.contains("rfx_dev_<redacted>"), "\(format)")
        }
    }

    @Test("the JSON handler escapes DEL, C1 and the separators too")
    func jsonQuoting() {
        #expect(JSONLogHandler.quoted("a\u{7F}\u{9B}\u{2028}b") == "\"a\\u007f\\u009b\\u2028b\"")
    }

    struct ForgedError: Error, CustomStringConvertible {
        var description: String { "bad\ncritical rfx_dev_secret" }
    }

    final class Lines: Sendable, TextOutputStream {
        private let storage = Mutex("")
        var text: String { storage.withLock { $0 } }
        func write(_ string: String) { storage.withLock { $0 += string } }
    }

    struct Stream: TextOutputStream, Sendable {
        let lines: Lines
        mutating func write(_ string: String) { lines.write(string) }
    }

    static func handler(format: NodeConfiguration.LogFormat, label: String, lines: Lines) -> any LogHandler {
        switch format {
        case .text:
            return SanitizingLogHandler(
                StreamLogHandler(label: label, stream: Stream(lines: lines), metadataProvider: nil),
                errorAsMetadata: true
            )
        case .json:
            return SanitizingLogHandler(JSONLogHandler(label: label) { lines.write($0) }, errorAsMetadata: false)
        }
    }
}
