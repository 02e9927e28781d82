import Foundation
import ReflexCore
import Testing

@testable import ReflexSimulator

@Suite("Simulator commands")
struct CommandTests {
    @Test(
        "out-of-range, missing, mistyped and unknown commands are rejected with a reason",
        arguments: [
            ("pump-001", "set_speed", ["rpm": JSONValue.number(3500)], "out of range 0...3000"),
            ("pump-001", "set_speed", ["rpm": JSONValue.number(-1)], "out of range"),
            ("pump-001", "set_speed", [:], "needs params.rpm"),
            ("pump-001", "set_speed", ["rpm": JSONValue.string("fast")], "must be a number"),
            ("pump-001", "open_valve", [:], "known: set_speed, start, stop"),
            ("chiller-001", "set_setpoint", ["celsius": JSONValue.number(1)], "out of range 4...15"),
            ("chiller-001", "set_load", ["percent": JSONValue.number(120)], "out of range 0...100"),
            ("chiller-001", "set_speed", ["rpm": JSONValue.number(100)], "unknown command 'set_speed'"),
        ]
    )
    func rejected(device: String, command: String, params: [String: JSONValue], detail: String) {
        var simulation = pumpAndChiller()
        let before = simulation.device(device)?.physics
        let result = simulation.apply(command, params: params, to: device)
        #expect(result.status == .rejected)
        #expect(result.detail.contains(detail), "\(result.detail)")
        #expect(simulation.device(device)?.physics == before)
    }

    @Test("valid commands are done and change the device")
    func accepted() {
        var simulation = pumpAndChiller()
        #expect(simulation.apply("set_speed", params: ["rpm": .number(1800)], to: "pump-001").status == .done)
        guard case .pump(let pump)? = simulation.device("pump-001")?.physics else {
            Issue.record("not a pump")
            return
        }
        #expect(pump.speedSetpoint == 1800)
    }

    @Test("command payloads parse; expiry is checked against the given time")
    func parsing() throws {
        let payload = Array(#"{"id":"c-1","params":{"rpm":1200},"expiresAt":1764145200000}"#.utf8)
        let request = try CommandRequest.parse(name: "set_speed", payload: payload).get()
        #expect(request.id == "c-1")
        #expect(request.params["rpm"] == .number(1200))
        #expect(request.isExpired(at: Date(timeIntervalSince1970: 1_764_145_200.001)))
        #expect(!request.isExpired(at: Date(timeIntervalSince1970: 1_764_145_199)))

        let rfc = Array(#"{"id":"c-2","params":{},"expiresAt":"2025-11-26T08:20:00Z"}"#.utf8)
        #expect(try CommandRequest.parse(name: "stop", payload: rfc).get().expiresAt != nil)

        guard case .failure(let bad) = CommandRequest.parse(name: "stop", payload: Array("not json".utf8)) else {
            Issue.record("garbage parsed")
            return
        }
        #expect(bad.detail.contains("not a JSON object"))
    }

    @Test("acks encode as the wire convention says")
    func ackEncoding() {
        let ack = CommandAck(id: "c-1", status: .rejected, detail: "expired")
        #expect(
            String(decoding: ack.encoded(), as: UTF8.self) == #"{"detail":"expired","id":"c-1","status":"rejected"}"#
        )
    }
}
