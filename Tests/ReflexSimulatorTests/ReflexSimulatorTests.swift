import Testing

@testable import ReflexSimulator

@Suite struct ReflexSimulatorModuleTests {
    @Test("the module builds and links") func moduleLinks() {
        #expect(String(describing: ReflexSimulator.self).hasPrefix("Reflex"))
    }
}
