import ReflexCore
import Testing

/// Cut and corrupted payloads: every one is either decoded or rejected with a reason, never a
/// crash, and a cut JSON message is always rejected.
@Suite struct TelemetryRobustnessTests {
    static let json = Array(
        #"[{"ts": "2025-11-26T08:20:00.1+01:00", "values": {"a\u005Fb": null, "t": -1.5e-3}}, {"values": {"b": true}}]"#
            .utf8
    )
    static let lines = Array(
        "# c\r\ncpu,cpu=cpu0,host=h usage_idle=99.5,s=\"x \\\" y\",n=3i 1764145200000000000\nmem,host=h u=1u,b=t\n".utf8
    )

    @Test("every proper prefix of a JSON message is rejected as malformed")
    func jsonPrefixes() throws {
        let device = try DeviceID(validating: "d")
        for length in 0..<Self.json.count {
            #expect(throws: TelemetryDecodingError.self, "prefix of \(length) bytes") {
                try JSONTelemetryDecoder.decode(Self.json[..<length], device: device, receivedAt: 1_764_145_200_123)
            }
        }
        #expect(throws: Never.self) {
            try JSONTelemetryDecoder.decode(Self.json, device: device, receivedAt: 1_764_145_200_123)
        }
    }

    @Test("corrupted JSON and line protocol payloads are decoded or rejected, never crash")
    func corruptedPayloads() throws {
        let device = try DeviceID(validating: "d")
        var generator = SplitMix64(seed: 42)
        let alphabet = Array(#"{}[]",:\ 0123456789.eE+-ntfuiaINT="#.utf8) + [0x0A, 0x0D, 0x00, 0xFF]
        var outcomes: [String: Int] = [:]
        for round in 0..<2000 {
            var bytes = round % 2 == 0 ? Self.json : Self.lines
            for _ in 0...(generator.next() % 3) {
                let position = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                }
            }
            do {
                if round % 2 == 0 {
                    _ = try JSONTelemetryDecoder.decode(bytes, device: device, receivedAt: 1_764_145_200_123)
                } else {
                    _ = try LineProtocolDecoder.decode(bytes, defaultDevice: device, receivedAt: 1_764_145_200_123)
                }
                outcomes["accepted", default: 0] += 1
            } catch {
                #expect(!error.description.isEmpty)
                outcomes[error.reasonLabel, default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 2000)
        #expect(outcomes.count > 3, "\(outcomes)")
    }
}
