import ReflexCore
import Testing

@Suite struct LineProtocolDecoderTests {
    /// 2025-11-26T08:20:00.123Z
    static let now: Int64 = 1_764_145_200_123
    static let gateway = try! DeviceID(validating: "gateway-1")

    static func decode(
        _ text: String,
        defaultDevice: DeviceID? = gateway,
        precision: LineProtocolDecoder.Precision = .nanoseconds,
        limits: TelemetryLimits = .default
    ) throws(TelemetryDecodingError) -> LineProtocolDecoder.Output {
        try LineProtocolDecoder.decode(
            Array(text.utf8),
            defaultDevice: defaultDevice,
            precision: precision,
            receivedAt: now,
            limits: limits
        )
    }

    /// "device metric=value@timestamp" per sample, for compact expectations.
    static func summary(_ output: LineProtocolDecoder.Output) -> [String] {
        output.batches.flatMap { batch in
            batch.samples.map { "\(batch.device) \($0.metric)=\($0.value)@\($0.timestamp)" }
        }
    }

    static func rejection(
        _ text: String,
        defaultDevice: DeviceID? = gateway,
        precision: LineProtocolDecoder.Precision = .nanoseconds
    ) -> TelemetryDecodingError? {
        do {
            _ = try decode(text, defaultDevice: defaultDevice, precision: precision)
            return nil
        } catch {
            return error
        }
    }

    @Test("the reference example decodes; the string field is skipped and counted")
    func referenceExample() throws {
        let output = try Self.decode(
            #"myMeasurement,tag1=value1,tag2=value2 fieldKey="fieldValue",temp=21.5 1764145200000000000"#
        )
        #expect(Self.summary(output) == ["gateway-1 myMeasurement.temp=21.5@1764145200000"])
        #expect(output.skippedStringFields == 1)
    }

    @Test("Telegraf's cpu, mem and disk lines map host to the device and <measurement>.<field> to the metric")
    func telegrafLines() throws {
        let output = try Self.decode(
            """
            cpu,cpu=cpu-total,host=press-4 usage_idle=99.5,usage_user=0.25,usage_system=0.25 1764145200000000000
            mem,host=press-4 used_percent=42.5,available=8123456789i,total=16000000000i 1764145200000000000
            disk,device=sda1,fstype=ext4,host=press-4,mode=rw,path=/ free=1234567u,used_percent=71.5 1764145200000000000
            """
        )
        #expect(output.batches.map(\.device.rawValue) == ["press-4", "sda1"])
        #expect(
            Self.summary(output) == [
                "press-4 cpu.usage_idle=99.5@1764145200000", "press-4 cpu.usage_user=0.25@1764145200000",
                "press-4 cpu.usage_system=0.25@1764145200000", "press-4 mem.used_percent=42.5@1764145200000",
                "press-4 mem.available=8123456789.0@1764145200000", "press-4 mem.total=16000000000.0@1764145200000",
                "sda1 disk.free=1234567.0@1764145200000", "sda1 disk.used_percent=71.5@1764145200000",
            ]
        )
    }

    @Test(
        "the device is the tag device, else device_id, else host, else the default device",
        arguments: [
            ("m,host=h,device_id=i,device=d v=1", "d"),
            ("m,host=h,device_id=i v=1", "i"),
            ("m,device_id=i,host=h v=1", "i"),
            ("m,host=h v=1", "h"),
            ("m,site=s v=1", "gateway-1"),
            ("m v=1", "gateway-1"),
        ]
    )
    func deviceTagOrder(line: String, device: String) throws {
        #expect(try Self.decode(line).batches.map(\.device.rawValue) == [device])
    }

    @Test("lines group by device in order of first appearance")
    func groupsByDevice() throws {
        let output = try Self.decode("m,device=a v=1\nm,device=b v=2\nm v=3\nm,device=a v=4\n")
        #expect(output.batches.map(\.device.rawValue) == ["a", "b", "gateway-1"])
        #expect(output.batches.map { $0.samples.map(\.value) } == [[1, 4], [2], [3]])
    }

    @Test("many devices interleaved still group by device")
    func manyDevices() throws {
        let lines = (0..<60).map { "m,device=d\($0 % 12) v=\($0)" }
        let output = try Self.decode(lines.joined(separator: "\n"))
        #expect(output.batches.map(\.device.rawValue) == (0..<12).map { "d\($0)" })
        #expect(
            output.batches.map { $0.samples.map(\.value) } == (0..<12).map { d in (0..<5).map { Double(d + 12 * $0) } }
        )
    }

    @Test(
        "every field type decodes",
        arguments: [
            ("1.5", 1.5), ("-1.5", -1.5), ("+2", 2), ("1e3", 1000), ("1.5E-3", 0.0015), ("7", 7), (".5", 0.5),
            ("5.", 5), ("42i", 42), ("-42i", -42), ("9223372036854775807i", 9.223372036854775808e18),
            ("-9223372036854775808i", -9.223372036854775808e18), ("42u", 42),
            ("18446744073709551615u", 1.8446744073709551616e19), ("t", 1), ("T", 1), ("true", 1), ("True", 1),
            ("TRUE", 1), ("f", 0), ("F", 0), ("false", 0), ("False", 0), ("FALSE", 0),
        ]
    )
    func fieldTypes(text: String, expected: Double) throws {
        let output = try Self.decode("m v=\(text)")
        #expect(output.batches.first?.samples.map(\.value) == [expected])
    }

    @Test(
        "timestamps in every precision become milliseconds",
        arguments: [
            (LineProtocolDecoder.Precision.nanoseconds, "1764145200123456789", Int64(1_764_145_200_123)),
            (.microseconds, "1764145200123456", 1_764_145_200_123),
            (.milliseconds, "1764145200123", 1_764_145_200_123),
            (.seconds, "1764145200", 1_764_145_200_000),
        ]
    )
    func precisions(precision: LineProtocolDecoder.Precision, timestamp: String, expected: Int64) throws {
        let output = try Self.decode("m v=1 \(timestamp)", precision: precision)
        #expect(output.batches.first?.samples.map(\.timestamp) == [expected])
    }

    @Test("a line without a timestamp gets the receive time")
    func missingTimestamp() throws {
        #expect(try Self.decode("m v=1\nm v=2 \n").batches.first?.samples.map(\.timestamp) == [Self.now, Self.now])
    }

    @Test("comments, blank lines, CRLF and surrounding spaces are accepted")
    func layout() throws {
        let output = try Self.decode(
            "# a comment\r\n\r\n   \n  m,device=a v=1  1764145200000000000  \r\n\t# another\nm v=2\r\n"
        )
        #expect(Self.summary(output) == ["a m.v=1.0@1764145200000", "gateway-1 m.v=2.0@\(Self.now)"])
    }

    @Test("escapes in tag values and string values do not end the token early")
    func escapesInValues() throws {
        let output = try Self.decode(
            #"my_m,site=a\,b\ c\=d,device=dev:1 s="say \"hi\", \\ ok",v=1 1764145200000000000"#
        )
        #expect(output.skippedStringFields == 1)
        #expect(Self.summary(output) == ["dev:1 my_m.v=1.0@1764145200000"])
    }

    @Test(
        "escapes in measurements and keys are resolved before the name is checked",
        arguments: [
            (#"my\ m v=1"#, "metric name 'my m.v'"),
            (#"m f\,x=1"#, "metric name 'm.f,x'"),
            (#"m f\=x=1"#, "metric name 'm.f=x'"),
            (#"m f\\x=1"#, #"metric name 'm.f\x'"#),
            (#"m f\x=1"#, #"metric name 'm.f\x'"#),
        ]
    )
    func escapesInNames(line: String, message: String) throws {
        let error = try #require(Self.rejection(line))
        #expect(error.reasonLabel == "bad_metric_name")
        #expect(error.description.contains(message), "\(error)")
    }

    @Test("an empty payload or one of comments only decodes to nothing")
    func empty() throws {
        #expect(try Self.decode("").batches.isEmpty)
        #expect(try Self.decode("# nothing\n\n").batches.isEmpty)
    }

    @Test("a line of string fields only keeps its device with no samples")
    func stringFieldsOnly() throws {
        let output = try Self.decode(#"syslog,host=h message="disk, full" 1764145200000000000"#)
        #expect(output.skippedStringFields == 1)
        #expect(output.batches == [TelemetryBatch(device: try DeviceID(validating: "h"), samples: [])])
    }

    @Test("interleaved measurements with the same field keys stay apart")
    func interleavedMeasurements() throws {
        let output = try Self.decode("a v=1,w=2\nb v=3,w=4\na w=5,v=6\nb v=7\n")
        #expect(
            output.batches.first?.samples.map(\.metric.rawValue) == ["a.v", "a.w", "b.v", "b.w", "a.w", "a.v", "b.v"]
        )
    }

    @Test("more than 64 measurements still name their metrics right")
    func manyMeasurements() throws {
        let lines = (0..<100).map { "m\($0) v=\($0)" } + (0..<100).map { "m\($0) v=\($0)" }
        let samples = try #require(Self.decode(lines.joined(separator: "\n")).batches.first).samples
        #expect(samples.map(\.metric.rawValue) == (0..<200).map { "m\($0 % 100).v" })
    }
}
