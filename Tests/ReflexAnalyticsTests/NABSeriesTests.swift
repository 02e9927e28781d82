import Foundation
import ReflexAnalytics
import Testing

@Suite struct NABSeriesTests {
    @Test("a NAB data file parses, with CRLF, blank lines and fractional seconds")
    func parsesGoodFile() throws {
        let text = "timestamp,value\r\n2014-04-01 00:00:00,20.5\r\n\r\n2014-04-01 00:05:00.500000,-3\r\n"
        let series = try NABSeries(csv: text, file: "a.csv")
        #expect(series.rows.count == 2)
        #expect(series.rows[0].timestampText == "2014-04-01 00:00:00")
        #expect(series.rows[0].timestampMillis == 1_396_310_400_000)
        #expect(series.rows[0].value == 20.5)
        #expect(series.rows[1].timestampMillis == 1_396_310_400_000 + 300_500)
        #expect(series.rows[1].value == -3)
    }

    @Test("column order follows the header")
    func columnOrder() throws {
        let series = try NABSeries(csv: "value,timestamp\n7,2015-02-26 21:42:53\n", file: "b.csv")
        #expect(
            series.rows == [.init(timestampText: "2015-02-26 21:42:53", timestampMillis: 1_424_986_973_000, value: 7)]
        )
    }

    @Test(
        "timestamps match the calendar",
        arguments: [
            ("1970-01-01 00:00:00", Int64(0)),
            ("2000-02-29 12:00:00", Int64(951_825_600_000)),
            ("2016-12-31 23:59:59", Int64(1_483_228_799_000)),
            ("1969-12-31 23:59:59", Int64(-1000)),
        ]
    )
    func timestamps(_ text: String, _ millis: Int64) {
        #expect(NABTimestamp.millis(text[...]) == millis)
    }

    @Test(
        "malformed input is rejected naming the file and line",
        arguments: [
            ("", 0, "empty"),
            ("time,value\n2014-04-01 00:00:00,1\n", 1, "header"),
            ("timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00\n", 3, "fields"),
            ("timestamp,value\n2014-04-01 00:00:00,1\n2014-13-01 00:05:00,2\n", 3, "timestamp"),
            ("timestamp,value\n2014/04/01 00:00:00,1\n", 2, "timestamp"),
            ("timestamp,value\n2014-04-01 00:00:00,abc\n", 2, "not a number"),
        ]
    )
    func malformed(_ text: String, _ line: Int, _ mention: String) {
        #expect {
            try NABSeries(csv: text, file: "data/x.csv")
        } throws: { error in
            guard let error = error as? NABFormatError else { return false }
            return error.file == "data/x.csv" && error.line == line && error.description.contains(mention)
                && error.description.hasPrefix("data/x.csv")
        }
    }

    @Test("results are written as timestamp,value,anomaly_score with the original timestamps")
    func resultsFormat() throws {
        let series = try NABSeries(csv: "timestamp,value\n2014-04-01 00:00:00,20.5\n2014-04-01 00:05:00,3\n", file: "c")
        let text = series.resultsCSV(scores: [0, 0.75])
        #expect(text == "timestamp,value,anomaly_score\n2014-04-01 00:00:00,20.5,0\n2014-04-01 00:05:00,3,0.75\n")
    }

    @Test("evaluation scores every file under a directory and mirrors its layout")
    func evaluationRun() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nab-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data/category")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var text = "timestamp,value\n"
        for (timestamp, value) in SyntheticSignal().values(count: 300) {
            let date = Date(timeIntervalSince1970: Double(timestamp) / 1000)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate]
            let stamp = formatter.string(from: date).replacingOccurrences(of: "T", with: " ")
            text += "\(stamp),\(value)\n"
        }
        try text.write(to: data.appendingPathComponent("one.csv"), atomically: true, encoding: .utf8)
        let summary = try NABEvaluation.run(
            data: root.appendingPathComponent("data"),
            output: root.appendingPathComponent("out")
        )
        #expect(summary.files == 1)
        #expect(summary.rows == 300)
        let written = try String(contentsOf: root.appendingPathComponent("out/category/one.csv"), encoding: .utf8)
        let lines = written.split(separator: "\n")
        #expect(lines.count == 301)
        #expect(lines.first == "timestamp,value,anomaly_score")
        let series = try NABSeries(csv: text, file: "one.csv")
        let expected = NABEvaluation.scores(of: series, settings: DetectorSettings())
        let scores = lines.dropFirst().compactMap { $0.split(separator: ",").last.flatMap { Double($0) } }
        #expect(scores == expected)
    }

    @Test("a malformed file makes the evaluation fail naming it")
    func evaluationFailure() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nab-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try "timestamp,value\nyesterday,1\n".write(
            to: root.appendingPathComponent("bad.csv"),
            atomically: true,
            encoding: .utf8
        )
        #expect {
            _ = try NABEvaluation.run(data: root, output: root.appendingPathComponent("out"))
        } throws: { error in
            "\(error)".contains("bad.csv line 2")
        }
    }
}
