import Testing

@testable import ReflexAnalytics

@Suite struct ReflexAnalyticsModuleTests {
    @Test("the module builds and links") func moduleLinks() {
        #expect(String(describing: ReflexAnalytics.self).hasPrefix("Reflex"))
    }
}
