import ReflexMQTT
import ReflexNode
import ReflexServer
import Testing

@Suite struct EndpointParsingTests {
    @Test(
        "valid listener addresses parse to host and port",
        arguments: [
            ("0.0.0.0:1883", "0.0.0.0", 1883),
            ("127.0.0.1:18999", "127.0.0.1", 18999),
            ("localhost:1883", "localhost", 1883),
            ("broker.example-plant.local:8883", "broker.example-plant.local", 8883),
            ("[::1]:1883", "::1", 1883),
            ("[::]:8883", "::", 8883),
            ("[fe80::1%eth0]:1883", "fe80::1%eth0", 1883),
            ("[::ffff:192.0.2.1]:1883", "::ffff:192.0.2.1", 1883),
            (":1883", "0.0.0.0", 1883),
            ("  10.0.0.5:0  ", "10.0.0.5", 0),
            ("host:65535", "host", 65535),
        ]
    )
    func validAddress(text: String, host: String, port: Int) throws {
        let endpoint = try #require(try BrokerConfiguration.Endpoint.parse(listener: text))
        #expect(endpoint == BrokerConfiguration.Endpoint(host: host, port: port))
    }

    @Test("empty text and 'off' turn the listener off", arguments: ["", "off", "OFF", " off "])
    func disabled(text: String) throws {
        #expect(try BrokerConfiguration.Endpoint.parse(listener: text) == nil)
    }

    @Test(
        "invalid addresses explain what to write instead",
        arguments: [
            ("1883", "add a host, e.g. 0.0.0.0:1883 for all interfaces"),
            ("localhost", "add a port, e.g. localhost:1883"),
            ("::1:1883", "write IPv6 addresses in brackets, e.g. [::1]:1883"),
            ("[::1]1883", "add the port after the bracket, e.g. [::1]:1883"),
            ("[::1:1883", "close the IPv6 address with ']', e.g. [::1]:1883"),
            ("[localhost]:1883", "'localhost' inside brackets is not an IPv6 address"),
            ("host:65536", "the port must be a number from 0 to 65535"),
            ("host:-1", "the port must be a number from 0 to 65535"),
            ("host:", "the port must be a number from 0 to 65535"),
            ("host:http", "the port must be a number from 0 to 65535"),
            ("[::1]:99999", "the port must be a number from 0 to 65535"),
            ("my host:1883", "'my host' is not a host name or IPv4 address"),
            ("mqtt://host:1883", "leave out the scheme, e.g. host:1883"),
        ]
    )
    func invalidAddress(text: String, hint: String) {
        #expect(throws: ValueProblem(expected: BrokerConfiguration.Endpoint.expectedListenerText, hint: hint)) {
            try BrokerConfiguration.Endpoint.parse(listener: text)
        }
    }
}
