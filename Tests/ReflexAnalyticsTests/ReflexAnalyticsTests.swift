import Testing

@testable import ReflexAnalytics

@Suite struct ReflexAnalyticsModuleTests {
    @Test("default settings enable detection at medium sensitivity") func defaults() {
        let settings = DetectorSettings()
        #expect(settings.isEnabled)
        #expect(settings.sensitivity == 0.5)
    }
}
