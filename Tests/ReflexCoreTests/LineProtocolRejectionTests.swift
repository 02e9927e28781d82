import ReflexCore
import Testing

/// Bad line protocol: one bad line rejects the whole payload, and the error names the line.
@Suite struct LineProtocolRejectionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var payload: String
        var label: String
        var message: String
        var testDescription: String { "\(label): \(payload.prefix(60))" }
    }

    static let cases: [Case] = [
        Case(
            payload: "m v=1\nm v=abc\n",
            label: "malformed_line",
            message: "line 2, byte 10: field 'm.v' value 'abc' is not a number"
        ),
        Case(payload: "m", label: "malformed_line", message: "line 1, byte 1: expected a space and fields"),
        Case(payload: "m ", label: "malformed_line", message: "line has no fields"),
        Case(payload: ",t=1 v=1", label: "malformed_line", message: "line has no measurement"),
        Case(payload: "m,t v=1", label: "malformed_line", message: "tag 't' needs '=' and a value"),
        Case(payload: "m,=x v=1", label: "malformed_line", message: "tag has no key"),
        Case(payload: "m,t= v=1", label: "malformed_line", message: "tag 't' has an empty value"),
        Case(payload: "m v", label: "malformed_line", message: "field 'v' needs '=' and a value"),
        Case(payload: "m =1", label: "malformed_line", message: "field has no key"),
        Case(payload: "m v=", label: "malformed_line", message: "field 'm.v' has no value"),
        Case(payload: "m v=1,", label: "malformed_line", message: "field has no key"),
        Case(
            payload: #"m v="open"#,
            label: "malformed_line",
            message: "string value of field 'm.v' has no closing quote"
        ),
        Case(payload: "m v=1.5i", label: "malformed_line", message: "value '1.5i' is not a number"),
        Case(payload: "m v=-1u", label: "malformed_line", message: "value '-1u' is not a number"),
        Case(payload: "m v=9223372036854775808i", label: "malformed_line", message: "or is out of range"),
        Case(payload: "m v=18446744073709551616u", label: "malformed_line", message: "or is out of range"),
        Case(payload: "m v=yes", label: "malformed_line", message: "value 'yes' is not a number"),
        Case(payload: "m v=1e", label: "malformed_line", message: "value '1e' is not a number"),
        Case(payload: "m v=1 12 x", label: "malformed_line", message: "unexpected 'x' after the timestamp"),
        Case(payload: "m v=1 abc", label: "bad_timestamp", message: "timestamp 'abc' is not an integer number of ns"),
        Case(payload: "m v=1 1.5", label: "bad_timestamp", message: "timestamp '1.5' is not an integer"),
        Case(payload: "m v=1 99999999999999999999", label: "bad_timestamp", message: "or is out of range"),
        Case(payload: "m v=1,v=2", label: "malformed_line", message: "byte 6: field 'v' appears twice in the line"),
        Case(payload: "m v=NaN", label: "not_finite", message: "value of 'm.v' is NaN; only finite numbers are stored"),
        Case(payload: "m v=-Inf", label: "not_finite", message: "value of 'm.v' is -Inf"),
        Case(payload: "m v=1e999", label: "not_finite", message: "value of 'm.v' is 1e999"),
        Case(
            payload: "m,device=bad/id v=1",
            label: "bad_device_id",
            message: "device id 'bad/id' has a character not allowed"
        ),
        Case(payload: "1m v=1", label: "bad_metric_name", message: "metric name '1m.v' must start with a letter"),
        Case(
            payload: "m v=1 1893456000000000000",
            label: "timestamp_skew",
            message: "timestamp 2030-01-01T00:00:00Z is 1496 days ahead"
        ),
        Case(
            payload: "m v=1 1764145200123",
            label: "timestamp_skew",
            message: "1970-01-01T00:29:24.145Z is 20418 days before"
        ),
    ]

    @Test("bad lines are rejected with a label and a reason naming the line", arguments: cases)
    func rejected(_ testCase: Case) throws {
        let error = try #require(LineProtocolDecoderTests.rejection(testCase.payload))
        #expect(error.reasonLabel == testCase.label)
        #expect(error.description.contains(testCase.message), "\(error)")
    }

    @Test("one bad line rejects the whole payload, and the error counts lines past comments and blanks")
    func wholePayload() throws {
        let error = try #require(LineProtocolDecoderTests.rejection("# header\n\nm v=1\r\nm v=2\nm v=\"x\",w=oops\n"))
        #expect(error.location?.line == 5)
        #expect(error.description.hasPrefix("line 5, byte 33: field 'm.w' value 'oops'"))
    }

    @Test("without a device tag or a default device, the line is named")
    func missingDevice() throws {
        let error = try #require(LineProtocolDecoderTests.rejection("m,device=a v=1\nm v=2", defaultDevice: nil))
        #expect(error == .missingDevice(.init(line: 2, byte: 15)))
        #expect(error.reasonLabel == "missing_device")
        #expect(
            error.description
                == "line 2, byte 15: no 'device', 'device_id' or 'host' tag, and the request names no device"
        )
    }

    @Test("the sample limit counts all lines, and the size limit applies")
    func limits() throws {
        let limits = TelemetryLimits(maxSamplesPerMessage: 3)
        #expect(throws: TelemetryDecodingError.tooManyValues(count: 4, limit: 3)) {
            try LineProtocolDecoderTests.decode("m a=1,b=2\nm a=1,b=\"s\"\nm a=1", limits: limits)
        }
        #expect(throws: TelemetryDecodingError.tooLarge(bytes: 11, limit: 10)) {
            try LineProtocolDecoderTests.decode("m v=1 12345", limits: TelemetryLimits(maxPayloadBytes: 10))
        }
    }

    @Test("seconds that overflow as milliseconds are out of range")
    func secondsOverflow() throws {
        let error = try #require(LineProtocolDecoderTests.rejection("m v=1 9223372036854775807", precision: .seconds))
        #expect(error.reasonLabel == "bad_timestamp")
        #expect(error.description.contains("is out of range"))
    }
}
