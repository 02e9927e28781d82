import ReflexNode
import ReflexServer
import Testing

@Suite struct AllowAnonymousConfigurationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String?
        var environment: String?
        var flag: Bool
        var expected: Bool
        var testDescription: String {
            "file \(file ?? "-"), environment \(environment ?? "-"), flag \(flag) → \(expected)"
        }
    }

    @Test(
        "anonymous access is off by default; flag > environment > file",
        arguments: [
            Case(file: nil, environment: nil, flag: false, expected: false),
            Case(file: "true", environment: nil, flag: false, expected: true),
            Case(file: "true", environment: "false", flag: false, expected: false),
            Case(file: "false", environment: "yes", flag: false, expected: true),
            Case(file: "false", environment: "0", flag: true, expected: true),
            Case(file: nil, environment: "on", flag: false, expected: true),
            Case(file: "no", environment: nil, flag: true, expected: true),
        ]
    )
    func precedence(_ testCase: Case) throws {
        try withTemporaryDirectory { (directory: String) throws in
            var flags = NodeConfiguration.Overrides()
            flags.allowAnonymous = testCase.flag ? "true" : nil
            let configuration = try load(
                yaml: testCase.file.map { "mqtt:\n  allowAnonymous: \($0)\n" },
                environment: testCase.environment.map { ["REFLEX_ALLOW_ANONYMOUS": $0] } ?? [:],
                flags: flags,
                in: directory
            )
            #expect(configuration.allowAnonymous == testCase.expected)
        }
    }

    @Test("a value that is not a Boolean names the key and the source") func badValue() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let error = #expect(throws: ConfigurationError.self) {
                try load(environment: ["REFLEX_ALLOW_ANONYMOUS": "maybe"], in: directory)
            }
            #expect(error?.key == "mqtt.allowAnonymous")
            #expect(
                error?.message
                    == "mqtt.allowAnonymous from environment variable REFLEX_ALLOW_ANONYMOUS: expected true or false, "
                    + "got 'maybe'; yes/no, on/off and 1/0 are accepted too"
            )
        }
    }

    @Test("a misspelt YAML key suggests mqtt.allowAnonymous") func suggestion() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let error = #expect(throws: ConfigurationError.self) {
                try load(yaml: "mqtt:\n  allowAnonymus: true\n", in: directory)
            }
            #expect(error?.message.contains("did you mean 'mqtt.allowAnonymous'?") == true)
        }
    }
}
