import ReflexCore
import Testing

@Suite struct JSONTelemetryDecoderTests {
    /// 2025-11-26T08:20:00.123Z
    static let now: Int64 = 1_764_145_200_123
    static let device = try! DeviceID(validating: "pump-7")

    static func decode(_ text: String, limits: TelemetryLimits = .default) throws(TelemetryDecodingError) -> [Sample] {
        try JSONTelemetryDecoder.decode(Array(text.utf8), device: device, receivedAt: now, limits: limits).samples
    }

    static func sample(_ metric: String, _ value: Double, at timestamp: Int64 = now) -> Sample {
        Sample(metric: try! MetricName(validating: metric), timestamp: timestamp, value: value)
    }

    static func rejection(_ text: String, limits: TelemetryLimits = .default) -> TelemetryDecodingError? {
        do {
            _ = try decode(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Valid forms

    @Test("a single object decodes to samples in payload order, stamped with its ts")
    func singleObject() throws {
        let batch = try JSONTelemetryDecoder.decode(
            Array(#"{"ts": 1764145200000, "values": {"temperature": 71.2, "vibration": 0.31}}"#.utf8),
            device: Self.device,
            receivedAt: Self.now
        )
        #expect(batch.device == Self.device)
        #expect(
            batch.samples == [
                Self.sample("temperature", 71.2, at: 1_764_145_200_000),
                Self.sample("vibration", 0.31, at: 1_764_145_200_000),
            ]
        )
    }

    @Test("an array of objects keeps each object's timestamp; a missing ts means the receive time")
    func arrayOfObjects() throws {
        let samples = try Self.decode(
            #"[{"ts": 1764145100000, "values": {"a": 1}}, {"values": {"a": 2, "b": 3}}, {"ts": null, "values": {"a": 4}}]"#
        )
        #expect(
            samples == [
                Self.sample("a", 1, at: 1_764_145_100_000), Self.sample("a", 2), Self.sample("b", 3),
                Self.sample("a", 4),
            ]
        )
    }

    @Test(
        "empty forms are valid and carry no samples",
        arguments: ["[]", " [ ] ", #"{"values": {}}"#, #"[{"values":{}}]"#]
    )
    func emptyForms(text: String) throws {
        #expect(try Self.decode(text).isEmpty)
    }

    @Test(
        "ts is read as integer or float milliseconds, or RFC 3339 text",
        arguments: [
            (#"1764145200123"#, Int64(1_764_145_200_123)),
            (#"1764145200123.9"#, 1_764_145_200_123),
            (#"1.7641452e12"#, 1_764_145_200_000),
            (#""2025-11-26T08:20:00.123Z""#, 1_764_145_200_123),
            (#""2025-11-26T08:20:00Z""#, 1_764_145_200_000),
            (#""2025-11-26t08:20:00.123456789z""#, 1_764_145_200_123),
            (#""2025-11-26 08:20:00.1Z""#, 1_764_145_200_100),
            (#""2025-11-26T09:20:00.5+01:00""#, 1_764_145_200_500),
            (#""2025-11-26T02:50:00-05:30""#, 1_764_145_200_000),
            (#""2025-11-26T08:19:60Z""#, 1_764_145_200_000),
        ]
    )
    func timestampForms(ts: String, expected: Int64) throws {
        let samples = try Self.decode(#"{"ts": \#(ts), "values": {"t": 1}}"#)
        #expect(samples.map(\.timestamp) == [expected])
    }

    @Test("ts may come after values")
    func timestampAfterValues() throws {
        #expect(try Self.decode(#"{"values": {"t": 1}, "ts": 1764145200000}"#).map(\.timestamp) == [1_764_145_200_000])
    }

    @Test(
        "numbers follow RFC 8259 and convert exactly",
        arguments: [
            ("0", 0.0), ("-0", -0.0), ("42", 42), ("-17", -17), ("71.2", 71.2), ("0.31", 0.31), ("1e3", 1000),
            ("1E-3", 0.001), ("2.5e+2", 250), ("-1.25e-2", -0.0125), ("0.1", 0.1),
            ("123456789012345678", 123_456_789_012_345_680), ("9007199254740993", 9_007_199_254_740_992),
            ("18446744073709551616", 18_446_744_073_709_551_616), ("3.141592653589793238462643383279", Double.pi),
            ("1.7976931348623157e308", Double.greatestFiniteMagnitude), ("5e-324", .leastNonzeroMagnitude),
            ("0.000000000000000000000000001", 1e-27), ("34.635000000000005", 34.635000000000005),
        ]
    )
    func numbers(text: String, expected: Double) throws {
        let value = try #require(Self.decode(#"{"values": {"x": \#(text)}}"#).first).value
        #expect(value == expected)
        #expect(value.sign == expected.sign)
    }

    @Test("booleans are stored as 1 and 0")
    func booleans() throws {
        #expect(try Self.decode(#"{"values": {"running": true, "fault": false}}"#).map(\.value) == [1, 0])
    }

    @Test("a null value skips that metric and keeps the others")
    func nullSkips() throws {
        #expect(try Self.decode(#"{"values": {"a": null, "b": 2}}"#) == [Self.sample("b", 2)])
    }

    @Test("whitespace and escaped keys are accepted")
    func whitespaceAndEscapes() throws {
        let samples = try Self.decode("\r\n\t{ \"values\" :\n{ \"motor\\u002ecurrent\" : 3 , \"a\\u005Fb\": 1 } }\n")
        #expect(samples.map(\.metric.rawValue) == ["motor.current", "a_b"])
    }

    @Test("names repeat across objects of an array without being confused")
    func repeatedNames() throws {
        let samples = try Self.decode(
            #"[{"values": {"a": 1, "b": 2}}, {"values": {"a": 3, "b": 4}}, {"values": {"b": 5, "a": 6}}, {"values": {"b": 7}}]"#
        )
        #expect(samples.map(\.metric.rawValue) == ["a", "b", "a", "b", "b", "a", "b"])
        #expect(samples.map(\.value) == [1, 2, 3, 4, 5, 6, 7])
    }

    @Test("any Collection<UInt8> is accepted, contiguous or not")
    func nonContiguousInput() throws {
        let text = #"{"values": {"t": 1.5}}"#
        let batch = try JSONTelemetryDecoder.decode(text.utf8, device: Self.device, receivedAt: Self.now)
        #expect(batch.samples == [Self.sample("t", 1.5)])
    }
}
