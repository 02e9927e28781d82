import Foundation
import ReflexCore
import Testing

@Suite struct IdentifierCodingTests {
    @Test("device ids and metric names encode as plain strings and are validated when decoded")
    func coding() throws {
        let device = try DeviceID(validating: "pump-7")
        let metric = try MetricName(validating: "motor.current")
        #expect(String(decoding: try JSONEncoder().encode([device]), as: UTF8.self) == #"["pump-7"]"#)
        #expect(String(decoding: try JSONEncoder().encode([metric]), as: UTF8.self) == #"["motor.current"]"#)
        #expect(try JSONDecoder().decode([DeviceID].self, from: Data(#"["pump-7"]"#.utf8)) == [device])
        #expect(throws: (any Error).self) { try JSONDecoder().decode([DeviceID].self, from: Data(#"["pump 7"]"#.utf8)) }
        #expect(throws: (any Error).self) { try JSONDecoder().decode([MetricName].self, from: Data(#"["7up"]"#.utf8)) }
        #expect(device.description == "pump-7")
        #expect([try DeviceID(validating: "b"), try DeviceID(validating: "a")].sorted().map(\.rawValue) == ["a", "b"])
    }
}
