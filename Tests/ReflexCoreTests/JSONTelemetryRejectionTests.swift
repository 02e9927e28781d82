import ReflexCore
import Testing

/// Every bad JSON payload the platform must handle: rejected whole, with a label and a reason
/// that names what and where.
@Suite struct JSONTelemetryRejectionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var payload: String
        var label: String
        var message: String
        var testDescription: String { "\(label): \(payload.prefix(60))" }
    }

    static let cases: [Case] = [
        // Malformed JSON.
        Case(payload: "", label: "malformed_json", message: "line 1, byte 0: payload is empty"),
        Case(payload: "   \n ", label: "malformed_json", message: "payload is empty"),
        Case(payload: #"{"values": {"t": 1}"#, label: "malformed_json", message: "ends inside the telemetry object"),
        Case(payload: #"{"values": {"t": 1"#, label: "malformed_json", message: "ends inside 'values' (truncated?)"),
        Case(payload: #"{"values": {"t": "#, label: "malformed_json", message: "expected a value; found the end"),
        Case(payload: #"{"values": {"t"#, label: "malformed_json", message: "payload ends inside a string"),
        Case(payload: #"[{"values": {"t": 1}}"#, label: "malformed_json", message: "ends inside the array"),
        Case(payload: #"{"values": {"t": 1}} x"#, label: "malformed_json", message: "byte 21: unexpected 'x' after"),
        Case(payload: #"{"values": {"t": 1}}{}"#, label: "malformed_json", message: "unexpected '{' after the end"),
        Case(payload: #"{"values": {"t": 1,}}"#, label: "malformed_json", message: "trailing ','"),
        Case(payload: #"[{"values": {}},]"#, label: "malformed_json", message: "trailing ','"),
        Case(payload: #"{"values": {"t": 1 "u": 2}}"#, label: "malformed_json", message: "expected ',' or '}'"),
        Case(payload: #"{"values": {"t" 1}}"#, label: "malformed_json", message: "expected ':' after the key"),
        Case(payload: #"{'values': {}}"#, label: "malformed_json", message: "expected a key in quotes; found '''"),
        Case(payload: #"{"values": {t: 1}}"#, label: "malformed_json", message: "expected a metric name in quotes"),
        Case(payload: #"{"values": {"t\x": 1}}"#, label: "malformed_json", message: #"invalid escape '\x'"#),
        Case(payload: #"{"values": {"t\u12": 1}}"#, label: "malformed_json", message: "needs 4 hex digits"),
        Case(payload: #"{"values": {"t\ud800": 1}}"#, label: "malformed_json", message: "lone high surrogate"),
        Case(payload: #"{"values": {"t\udc00": 1}}"#, label: "malformed_json", message: "lone low surrogate"),
        Case(payload: #"{"values": {"t\ud800\u0041": 1}}"#, label: "malformed_json", message: "not followed by a low"),
        Case(payload: "{\"values\": {\"t\tx\": 1}}", label: "malformed_json", message: "control character 0x9"),
        Case(payload: #"{"values": {"t": 01}}"#, label: "malformed_json", message: "leading zeros"),
        Case(payload: #"{"values": {"t": 1.}}"#, label: "malformed_json", message: "digit after the decimal point"),
        Case(payload: #"{"values": {"t": .5}}"#, label: "malformed_json", message: "expected a value; found '.'"),
        Case(payload: #"{"values": {"t": 1e}}"#, label: "malformed_json", message: "digit in the exponent"),
        Case(payload: #"{"values": {"t": +1}}"#, label: "malformed_json", message: "expected a value; found '+'"),
        Case(payload: #"{"values": {"t": tru}}"#, label: "malformed_json", message: "expected a value"),
        Case(payload: #"{"values": {"t": True}}"#, label: "malformed_json", message: "expected a value; found 'T'"),
        Case(payload: "42", label: "malformed_json", message: "expected a JSON object or array; found '4'"),
        Case(
            payload: #"[[{"values": {}}]]"#,
            label: "malformed_json",
            message: "array elements must be telemetry objects"
        ),
        Case(payload: #"[1]"#, label: "malformed_json", message: "array elements must be telemetry objects"),
        Case(
            payload: #"{"ts": 1764145200123}"#,
            label: "malformed_json",
            message: "byte 0: telemetry object has no 'values'"
        ),
        Case(payload: #"{"value": {"t": 1}}"#, label: "malformed_json", message: "unknown key 'value'"),
        Case(payload: #"{"values": {}, "values": {}}"#, label: "malformed_json", message: "key 'values' appears twice"),
        Case(payload: #"{"ts": 1, "ts": 2, "values": {}}"#, label: "malformed_json", message: "key 'ts' appears twice"),
        Case(payload: #"{"values": [1, 2]}"#, label: "malformed_json", message: "'values' must be an object"),
        Case(payload: #"{"values": {"t": 1, "t": 2}}"#, label: "malformed_json", message: "metric 't' appears twice"),
        Case(
            payload: #"{"values": {"t": null, "t": 1}}"#,
            label: "malformed_json",
            message: "metric 't' appears twice"
        ),
        Case(payload: #"{"ts": true, "values": {}}"#, label: "malformed_json", message: "'ts' must be milliseconds"),
        Case(payload: "{\"values\": {\"t\": 1}}\u{0}", label: "malformed_json", message: "unexpected byte 0x0"),
        // Non-finite values.
        Case(
            payload: #"{"values": {"temperature": NaN}}"#,
            label: "not_finite",
            message: "value of 'temperature' is NaN; only finite numbers are stored"
        ),
        Case(payload: #"{"values": {"t": Infinity}}"#, label: "not_finite", message: "value of 't' is Infinity"),
        Case(payload: #"{"values": {"t": -Infinity}}"#, label: "not_finite", message: "value of 't' is -Infinity"),
        Case(payload: #"{"values": {"t": 1e999}}"#, label: "not_finite", message: "value of 't' is 1e999"),
        Case(payload: #"{"values": {"t": -2e400}}"#, label: "not_finite", message: "value of 't' is -2e400"),
        // Wrong value types.
        Case(
            payload: #"{"values": {"t": "71.2"}}"#,
            label: "wrong_value_type",
            message: "value of 't' is a string; only numbers and booleans"
        ),
        Case(payload: #"{"values": {"t": {"v": 1}}}"#, label: "wrong_value_type", message: "value of 't' is an object"),
        Case(payload: #"{"values": {"t": [1]}}"#, label: "wrong_value_type", message: "value of 't' is an array"),
        // Odd metric names.
        Case(payload: #"{"values": {"": 1}}"#, label: "bad_metric_name", message: "metric name is empty"),
        Case(
            payload: #"{"values": {"temp\"x": 1}}"#,
            label: "bad_metric_name",
            message: #"metric name 'temp"x' has a character not allowed"#
        ),
        Case(
            payload: #"{"values": {"t'; DROP TABLE samples;--": 1}}"#,
            label: "bad_metric_name",
            message: "character not allowed at byte 1"
        ),
        Case(payload: #"{"values": {"température": 1}}"#, label: "bad_metric_name", message: "not allowed at byte 4"),
        Case(payload: #"{"values": {"t\ud83d\ude00": 1}}"#, label: "bad_metric_name", message: "metric name 't😀'"),
        Case(payload: #"{"values": {"1st": 1}}"#, label: "bad_metric_name", message: "must start with a letter or '_'"),
        Case(
            payload: #"{"values": {"a b": 1}}"#,
            label: "bad_metric_name",
            message: "line 1, byte 12: metric name 'a b'"
        ),
        Case(
            payload: #"{"values": {"\#(String(repeating: "x", count: 200))": 1}}"#,
            label: "bad_metric_name",
            message: "is 200 bytes; the limit is 128"
        ),
        // Timestamps.
        Case(
            payload: #"{"ts": "2030-01-01T00:00:00Z", "values": {"t": 1}}"#,
            label: "timestamp_skew",
            message: "timestamp 2030-01-01T00:00:00Z is 1496 days ahead of the receive time; at most 1 day is allowed"
        ),
        Case(payload: #"{"ts": 1764145200123000, "values": {"t": 1}}"#, label: "timestamp_skew", message: "days ahead"),
        Case(
            payload: #"{"ts": 1764145200, "values": {"t": 1}}"#,
            label: "timestamp_skew",
            message:
                "1970-01-21T10:02:25.200Z is 20397 days before the receive time; at most 3650 days is allowed (it looks like seconds"
        ),
        Case(
            payload: #"{"ts": 1e30, "values": {"t": 1}}"#,
            label: "bad_timestamp",
            message: "timestamp '1e30' is out of range"
        ),
        Case(
            payload: #"{"ts": "yesterday", "values": {}}"#,
            label: "bad_timestamp",
            message: "'yesterday' is not RFC 3339: expected a 4-digit year"
        ),
        Case(payload: #"{"ts": "2025-11-26", "values": {}}"#, label: "bad_timestamp", message: "needs 'T' and a time"),
        Case(
            payload: #"{"ts": "2025-11-26T08:20:00", "values": {}}"#,
            label: "bad_timestamp",
            message: "needs a time zone"
        ),
        Case(
            payload: #"{"ts": "2025-02-29T08:20:00Z", "values": {}}"#,
            label: "bad_timestamp",
            message: "has day 29, which month 2 of 2025 does not have"
        ),
        Case(
            payload: #"{"ts": "2025-13-01T08:20:00Z", "values": {}}"#,
            label: "bad_timestamp",
            message: "has month 13"
        ),
        Case(
            payload: #"{"ts": "2025-11-26T24:00:00Z", "values": {}}"#,
            label: "bad_timestamp",
            message: "is not a time of day"
        ),
        Case(
            payload: #"{"ts": "2025-11-26T08:20:00.Z", "values": {}}"#,
            label: "bad_timestamp",
            message: "digits after the decimal point"
        ),
        Case(
            payload: #"{"ts": "2025-11-26T08:20:00Z ", "values": {}}"#,
            label: "bad_timestamp",
            message: "unexpected characters after the time zone"
        ),
    ]

    @Test("bad payloads are rejected with a label and a reason", arguments: cases)
    func rejected(_ testCase: Case) throws {
        let error = try #require(JSONTelemetryDecoderTests.rejection(testCase.payload))
        #expect(error.reasonLabel == testCase.label)
        #expect(error.description.contains(testCase.message), "\(error)")
    }

    @Test("a payload over the size limit is rejected before it is parsed")
    func tooLarge() throws {
        let payload = #"{"values": {"t": 1}}"# + String(repeating: " ", count: 1 << 20)
        let error = try #require(JSONTelemetryDecoderTests.rejection(payload))
        #expect(error == .tooLarge(bytes: (1 << 20) + 20, limit: 1 << 20))
        #expect(error.description == "payload is 1048596 bytes; at most 1048576 bytes are accepted in one message")
    }

    @Test("10,000 values in one message are accepted, 10,001 are rejected whole")
    func tooManyValues() throws {
        func payload(_ count: Int) -> String {
            "{\"values\": {" + (0..<count).map { "\"m\($0)\": \($0)" }.joined(separator: ", ") + "}}"
        }
        #expect(try JSONTelemetryDecoderTests.decode(payload(10_000)).count == 10_000)
        let error = try #require(JSONTelemetryDecoderTests.rejection(payload(10_001)))
        #expect(error == .tooManyValues(count: 10_001, limit: 10_000))
        #expect(error.reasonLabel == "too_many_values")
        #expect(error.description.contains("split it into messages of at most 10000 values"))
    }

    @Test("the sample limit counts all objects of an array")
    func tooManyValuesAcrossArray() throws {
        let limits = TelemetryLimits(maxSamplesPerMessage: 3)
        let payload = #"[{"values": {"a": 1, "b": 2}}, {"values": {"a": 1, "b": 2}}]"#
        #expect(JSONTelemetryDecoderTests.rejection(payload, limits: limits) == .tooManyValues(count: 4, limit: 3))
    }

    @Test("a duplicate key is found past the linear-search size too")
    func duplicateInLargeObject() throws {
        let keys = (0..<100).map { "\"m\($0)\": 1" } + ["\"m7\": 2"]
        let error = try #require(
            JSONTelemetryDecoderTests.rejection("{\"values\": {" + keys.joined(separator: ",") + "}}")
        )
        #expect(error.description.contains("metric 'm7' appears twice"))
    }

    @Test("a duplicate is found when it follows names seen in an earlier object")
    func duplicateAfterCachedNames() throws {
        let error = try #require(
            JSONTelemetryDecoderTests.rejection(#"[{"values": {"a": 1, "b": 2}}, {"values": {"b": 1, "b": 2}}]"#)
        )
        #expect(error.description.contains("metric 'b' appears twice"))
    }

    @Test("errors in pretty-printed payloads name the line")
    func lineNumbers() throws {
        let error = try #require(JSONTelemetryDecoderTests.rejection("{\n  \"values\": {\n    \"t\": NaN\n  }\n}"))
        #expect(error.location == .init(line: 3, byte: 25))
        #expect(error.description.hasPrefix("line 3, byte 25: value of 't' is NaN"))
    }

    @Test("the future and past limits are configurable")
    func configurableSkew() throws {
        let strict = TelemetryLimits(maxFutureSkew: .seconds(5), maxPast: .seconds(60))
        let ahead = JSONTelemetryDecoderTests.rejection(#"{"ts": 1764145206123, "values": {}}"#, limits: strict)
        #expect(
            ahead?.description.contains("is 6 seconds ahead of the receive time; at most 5 seconds is allowed") == true
        )
        let behind = JSONTelemetryDecoderTests.rejection(#"{"ts": 1764145000123, "values": {}}"#, limits: strict)
        #expect(
            behind?.description.contains("3.3 minutes before the receive time; at most 1 minute is allowed") == true
        )
        let unlimited = TelemetryLimits(maxPast: nil)
        #expect(try JSONTelemetryDecoderTests.decode(#"{"ts": 0, "values": {"t": 1}}"#, limits: unlimited).count == 1)
        #expect(
            try JSONTelemetryDecoderTests.decode(#"{"ts": 1764145205123, "values": {"t": 1}}"#, limits: strict).count
                == 1
        )
    }
}
