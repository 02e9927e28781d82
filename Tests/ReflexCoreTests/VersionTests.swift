import ReflexCore
import Testing

@Suite struct VersionTests {
    @Test("the version is a semantic version") func semanticVersion() {
        #expect(ReflexVersion.current.split(separator: ".").count == 3)
    }
}
