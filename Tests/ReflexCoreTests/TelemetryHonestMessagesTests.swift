import ReflexCore
import Testing

/// Reasons that say what really happened: the real distance of a timestamp from the receive
/// time, and the node's reserved metric namespace.
@Suite struct TelemetryHonestMessagesTests {
    static let now: Int64 = 1_764_145_200_123  // 2025-11-26T08:20:00.123Z
    static let day: Int64 = 86_400_000

    static func rejection(_ payload: String, limits: TelemetryLimits = .default) -> TelemetryDecodingError? {
        do {
            _ = try JSONTelemetryDecoder.decode(
                Array(payload.utf8),
                device: try DeviceID(validating: "pump-1"),
                receivedAt: now,
                limits: limits
            )
            return nil
        } catch let error as TelemetryDecodingError {
            return error
        } catch {
            return nil
        }
    }

    @Test(
        "a timestamp ahead by more than the limit names its real distance",
        arguments: [
            // Sent as "now + 2 days" by a device, received a few ms later: 2 days, not 1.
            (2 * day - 5, "is 2 days ahead of the receive time; at most 1 day is allowed"),
            (2 * day, "is 2 days ahead of the receive time; at most 1 day is allowed"),
            (day + day / 2, "is 1.5 days ahead of the receive time; at most 1 day is allowed"),
            (day + 1, "is 86400.001 seconds ahead of the receive time; at most 86400 seconds is allowed"),
            (40 * day, "is 40 days ahead"),
        ]
    )
    func futureDistance(ahead: Int64, expected: String) throws {
        let error = try #require(Self.rejection(#"{"ts": \#(Self.now + ahead), "values": {"t": 1}}"#))
        #expect(error.reasonLabel == "timestamp_skew")
        #expect(error.description.contains(expected), "\(error)")
    }

    @Test("a timestamp too old names its real distance")
    func pastDistance() throws {
        let limits = TelemetryLimits(maxPast: .seconds(3600))
        let error = try #require(
            Self.rejection(#"{"ts": \#(Self.now - 2 * 3_600_000 + 10), "values": {"t": 1}}"#, limits: limits)
        )
        #expect(error.description.contains("is 2 hours before the receive time; at most 1 hour is allowed"), "\(error)")
    }

    @Test(
        "metrics in the node's reserved namespace are refused in both codecs",
        arguments: [#"{"values": {"anomaly:temperature": 0.99}}"#, #"{"values": {"t": 1, "anomaly:t": 0}}"#]
    )
    func reservedJSON(payload: String) throws {
        let error = try #require(Self.rejection(payload))
        #expect(error.reasonLabel == "reserved_metric_name")
        #expect(error.description.contains("starts with 'anomaly:', a prefix reserved"), "\(error)")
    }

    @Test("line protocol cannot write anomaly: fields either")
    func reservedLineProtocol() throws {
        let payload = Array("anomaly:m,device=pump-1 score=1\n".utf8)
        let error = #expect(throws: TelemetryDecodingError.self) {
            _ = try LineProtocolDecoder.decode(payload, defaultDevice: nil, receivedAt: Self.now)
        }
        #expect(error?.reasonLabel == "reserved_metric_name")
    }

    @Test("names that merely contain the prefix later, or a colon, are still accepted")
    func notReserved() throws {
        #expect(Self.rejection(#"{"values": {"motor:anomaly:x": 1, "a:b": 2, "anomaly": 3}}"#) == nil)
        #expect(ReservedMetricNames.reservedPrefix(of: "anomaly:x") == "anomaly:")
        #expect(ReservedMetricNames.reservedPrefix(of: "anomalyx") == nil)
    }
}
