import ReflexCore
import Testing

@Suite struct DomainIdentifierTests {
    @Test(
        "device ids and metric names follow their rules",
        arguments: [
            ("pump-7", true), ("a.b:c_d", true), ("", false), ("dev/1", false), ("x y", false),
            ("'; DROP TABLE", false),
            ("température", false), (".hidden", false),
        ]
    )
    func deviceIDs(raw: String, valid: Bool) {
        #expect(((try? DeviceID(validating: raw)) != nil) == valid)
    }
}
