import ReflexNode
import ReflexServer
import Testing

@Suite struct HTTPTimeoutsConfigurationTests {
    @Test("the HTTP timeouts and cap default to 10 s, 30 s, 60 s and 1024; flag > environment > file")
    func precedence() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let defaults = try load(in: directory).http
            #expect(defaults.headerTimeout == .seconds(10) && defaults.bodyTimeout == .seconds(30))
            #expect(defaults.idleTimeout == .seconds(60) && defaults.maxConnections == 1_024)
            let yaml = "http:\n  headerTimeout: 5s\n  bodyTimeout: 2m\n  idleTimeout: 90\n  maxConnections: 64\n"
            let fromFile = try load(yaml: yaml, in: directory).http
            #expect(fromFile.headerTimeout == .seconds(5) && fromFile.bodyTimeout == .seconds(120))
            #expect(fromFile.idleTimeout == .seconds(90) && fromFile.maxConnections == 64)
            let environment = ["REFLEX_HTTP_HEADER_TIMEOUT": "2", "REFLEX_HTTP_MAX_CONNECTIONS": "10"]
            var flags = NodeConfiguration.Overrides()
            flags.httpMaxConnections = "3"
            flags.httpIdleTimeout = "1m"
            let merged = try load(yaml: yaml, environment: environment, flags: flags, in: directory).http
            #expect(merged.headerTimeout == .seconds(2) && merged.bodyTimeout == .seconds(120))
            #expect(merged.idleTimeout == .seconds(60) && merged.maxConnections == 3)
        }
    }

    @Test("a bad value names the key and where it came from") func badValue() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let error = #expect(throws: ConfigurationError.self) {
                try load(environment: ["REFLEX_HTTP_BODY_TIMEOUT": "0"], in: directory)
            }
            #expect(error?.key == "http.bodyTimeout")
            #expect(
                error?.message.hasPrefix("http.bodyTimeout from environment variable REFLEX_HTTP_BODY_TIMEOUT") == true
            )
            var flags = NodeConfiguration.Overrides()
            flags.httpMaxConnections = "lots"
            let flagError = #expect(throws: ConfigurationError.self) { try load(flags: flags, in: directory) }
            #expect(flagError?.key == "http.maxConnections")
        }
    }
}
