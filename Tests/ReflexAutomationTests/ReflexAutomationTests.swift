import Testing

@testable import ReflexAutomation

@Suite struct ReflexAutomationModuleTests {
    @Test("the module builds and links") func moduleLinks() {
        #expect(String(describing: ReflexAutomation.self).hasPrefix("Reflex"))
    }
}
