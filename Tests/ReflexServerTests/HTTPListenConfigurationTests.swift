import ReflexMQTT
import ReflexNode
import ReflexServer
import Testing

@Suite struct HTTPListenConfigurationTests {
    @Test("http.listen defaults to 0.0.0.0:8080; flag > environment > file; off disables")
    func precedence() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let defaults = try load(in: directory).http.listen
            #expect(defaults?.host == "0.0.0.0" && defaults?.port == 8080)
            let yaml = "http:\n  listen: \"127.0.0.1:9001\"\n"
            let fromFile = try load(yaml: yaml, in: directory).http.listen
            #expect(fromFile?.host == "127.0.0.1" && fromFile?.port == 9001)
            let environment = ["REFLEX_HTTP_LISTEN": "[::1]:9002"]
            #expect(
                try load(yaml: yaml, environment: environment, in: directory).http.listen?.description == "[::1]:9002"
            )
            var flags = NodeConfiguration.Overrides()
            flags.httpListen = "off"
            let off = try load(yaml: yaml, environment: environment, flags: flags, in: directory)
            #expect(off.http.listen == nil)
        }
    }

    @Test("a bad address names the key and the flag") func badValue() throws {
        try withTemporaryDirectory { (directory: String) throws in
            var flags = NodeConfiguration.Overrides()
            flags.httpListen = "localhost"
            let error = #expect(throws: ConfigurationError.self) { try load(flags: flags, in: directory) }
            #expect(error?.key == "http.listen")
            #expect(error?.message.hasPrefix("http.listen from flag --http-listen: expected") == true)
        }
    }

    @Test("the HTTP API cannot share the MQTT port") func portClash() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let error = #expect(throws: ConfigurationError.self) {
                try load(environment: ["REFLEX_HTTP_LISTEN": "127.0.0.1:1883"], in: directory)
            }
            #expect(error?.key == "http.listen")
            #expect(error?.message.contains("port 1883 is already used by mqtt.listen") == true)
        }
    }
}
