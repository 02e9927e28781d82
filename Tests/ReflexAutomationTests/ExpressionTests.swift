import ReflexAutomation
import Testing

@Suite struct ExpressionTests {
    @Test func parses() throws {
        _ = try ExpressionParser.parse("temperature > 85 for 30s or anomaly(vibration) > 0.9", expecting: .boolean)
    }
}
