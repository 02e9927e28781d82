import Foundation
import Logging
import ReflexMQTT
import ReflexNode
import ReflexServer
import Testing

/// Loads with a data directory inside `directory` unless the test sets one itself.
func load(
    yaml: String? = nil,
    path: String = "/etc/reflex.yaml",
    environment: [String: String] = [:],
    flags: NodeConfiguration.Overrides = .init(),
    in directory: String
) throws(ConfigurationError) -> NodeConfiguration {
    var environment = environment
    if environment["REFLEX_DATA_DIR"] == nil, flags.dataDirectory == nil, !(yaml ?? "").contains("dataDirectory") {
        environment["REFLEX_DATA_DIR"] = "\(directory)/data"
    }
    return try NodeConfiguration(yaml: yaml, filePath: path, environment: environment, overrides: flags)
}

@Suite struct NodeConfigurationLoadingTests {
    struct PrecedenceCase: Sendable, CustomTestStringConvertible {
        var file: String?
        var environment: String?
        var flag: String?
        var expected: Int
        var testDescription: String {
            "file \(file ?? "-"), environment \(environment ?? "-"), flag \(flag ?? "-") → \(expected)"
        }
    }

    @Test(
        "a flag beats the environment, which beats the file, which beats the default",
        arguments: [
            PrecedenceCase(file: nil, environment: nil, flag: nil, expected: 1_048_576),
            PrecedenceCase(file: "1000", environment: nil, flag: nil, expected: 1000),
            PrecedenceCase(file: "1000", environment: "2000", flag: nil, expected: 2000),
            PrecedenceCase(file: "1000", environment: "2000", flag: "3000", expected: 3000),
            PrecedenceCase(file: nil, environment: "2000", flag: nil, expected: 2000),
            PrecedenceCase(file: "1000", environment: nil, flag: "3000", expected: 3000),
            PrecedenceCase(file: nil, environment: nil, flag: "3000", expected: 3000),
        ]
    )
    func precedence(_ testCase: PrecedenceCase) throws {
        try withTemporaryDirectory { (directory: String) throws in
            var flags = NodeConfiguration.Overrides()
            flags.maxPacketSize = testCase.flag
            let configuration = try load(
                yaml: testCase.file.map { "mqtt:\n  maxPacketSize: \($0)\n" },
                environment: testCase.environment.map { ["REFLEX_MQTT_MAX_PACKET_SIZE": $0] } ?? [:],
                flags: flags,
                in: directory
            )
            #expect(configuration.mqtt.maxPacketSize == testCase.expected)
        }
    }

    @Test("precedence is decided per key, not per source") func precedencePerKey() throws {
        try withTemporaryDirectory { (directory: String) throws in
            var flags = NodeConfiguration.Overrides()
            flags.logLevel = "debug"
            let configuration = try load(
                yaml: "log:\n  level: error\n  format: json\nmqtt:\n  listen: 127.0.0.1:1000\n",
                environment: ["REFLEX_MQTT_LISTEN": "127.0.0.1:2000"],
                flags: flags,
                in: directory
            )
            #expect(configuration.logLevel == .debug)
            #expect(configuration.logFormat == .json)
            #expect(configuration.mqtt.tcp == BrokerConfiguration.Endpoint(host: "127.0.0.1", port: 2000))
        }
    }

    @Test("no file, no environment and no flags give the documented defaults") func defaults() throws {
        try withTemporaryDirectory { (directory: String) throws in
            var expected = NodeConfiguration()
            expected.dataDirectory = "\(directory)/data"
            #expect(try load(in: directory) == expected)
            #expect(NodeConfiguration().dataDirectory == "./reflex-data")
            #expect(NodeConfiguration().logLevel == .info)
            #expect(NodeConfiguration().logFormat == .text)
            #expect(NodeConfiguration().mqtt == BrokerConfiguration())
        }
    }

    @Test("every YAML key maps onto its field") func everyYAMLKey() throws {
        try withTemporaryDirectory { (directory: String) throws in
            _ = FileManager.default.createFile(atPath: "\(directory)/cert.pem", contents: Data("c".utf8))
            _ = FileManager.default.createFile(atPath: "\(directory)/key.pem", contents: Data("k".utf8))
            let yaml = """
                dataDirectory: \(directory)/state
                log:
                  level: notice
                  format: json
                mqtt:
                  listen: "[::1]:1884"
                  tlsListen: 127.0.0.1:8884
                  tls:
                    certificate: \(directory)/cert.pem
                    key: \(directory)/key.pem
                  maxConnections: 500
                  maxPacketSize: 64KiB
                  maxInflight: 10
                  maxQueuedMessages: 1_000
                  queueOverflow: drop
                  maxTopicLength: 1024
                  maxTopicLevels: 16
                  maxKeepAlive: 5m
                  v311SessionExpiry: 2h
                  maxSessionExpiry: 7d
                  topicAliasMaximum: 0
                  sysInterval: 0
                  sessionSaveInterval: 30s
                """
            let configuration = try load(yaml: yaml, in: directory)
            var mqtt = BrokerConfiguration()
            mqtt.tcp = .init(host: "::1", port: 1884)
            mqtt.tls = .init(host: "127.0.0.1", port: 8884)
            mqtt.tlsFiles = .init(certificatePath: "\(directory)/cert.pem", keyPath: "\(directory)/key.pem")
            mqtt.maxConnections = 500
            mqtt.maxPacketSize = 65_536
            mqtt.maxInflight = 10
            mqtt.maxQueuedMessages = 1000
            mqtt.queueOverflowPolicy = .dropNewest
            mqtt.maxTopicLength = 1024
            mqtt.maxTopicLevels = 16
            mqtt.maxKeepAliveSeconds = 300
            mqtt.v311SessionExpirySeconds = 7200
            mqtt.maxSessionExpirySeconds = 604_800
            mqtt.topicAliasMaximum = 0
            mqtt.sysIntervalSeconds = 0
            mqtt.sessionSaveIntervalSeconds = 30
            #expect(configuration.mqtt == mqtt)
            #expect(configuration.dataDirectory == "\(directory)/state")
            #expect(configuration.logLevel == .notice)
            #expect(configuration.logFormat == .json)
            #expect(FileManager.default.fileExists(atPath: "\(directory)/state"))
        }
    }

    @Test("every environment variable maps onto its field") func everyEnvironmentVariable() throws {
        try withTemporaryDirectory { (directory: String) throws in
            _ = FileManager.default.createFile(atPath: "\(directory)/cert.pem", contents: Data("c".utf8))
            _ = FileManager.default.createFile(atPath: "\(directory)/key.pem", contents: Data("k".utf8))
            let configuration = try load(
                environment: [
                    "REFLEX_DATA_DIR": "\(directory)/env-data",
                    "REFLEX_LOG_LEVEL": "WARNING",
                    "REFLEX_LOG_FORMAT": "json",
                    "REFLEX_MQTT_LISTEN": "off",
                    "REFLEX_MQTT_TLS_LISTEN": "[::]:8883",
                    "REFLEX_MQTT_TLS_CERT": "\(directory)/cert.pem",
                    "REFLEX_MQTT_TLS_KEY": "\(directory)/key.pem",
                    "REFLEX_MQTT_MAX_CONNECTIONS": "7",
                    "REFLEX_MQTT_MAX_PACKET_SIZE": "2MiB",
                    "REFLEX_MQTT_MAX_INFLIGHT": "3",
                    "REFLEX_MQTT_MAX_QUEUED_MESSAGES": "9",
                    "REFLEX_MQTT_QUEUE_OVERFLOW": "drop",
                    "REFLEX_MQTT_SYS_INTERVAL": "1m",
                ],
                in: directory
            )
            #expect(configuration.dataDirectory == "\(directory)/env-data")
            #expect(configuration.logLevel == .warning)
            #expect(configuration.logFormat == .json)
            #expect(configuration.mqtt.tcp == nil)
            #expect(configuration.mqtt.tls == BrokerConfiguration.Endpoint(host: "::", port: 8883))
            #expect(configuration.mqtt.tlsFiles?.certificatePath == "\(directory)/cert.pem")
            #expect(configuration.mqtt.tlsFiles?.keyPath == "\(directory)/key.pem")
            #expect(configuration.mqtt.maxConnections == 7)
            #expect(configuration.mqtt.maxPacketSize == 2_097_152)
            #expect(configuration.mqtt.maxInflight == 3)
            #expect(configuration.mqtt.maxQueuedMessages == 9)
            #expect(configuration.mqtt.queueOverflowPolicy == .dropNewest)
            #expect(configuration.mqtt.sysIntervalSeconds == 60)
        }
    }

    @Test("every flag maps onto its field") func everyFlag() throws {
        try withTemporaryDirectory { (directory: String) throws in
            _ = FileManager.default.createFile(atPath: "\(directory)/cert.pem", contents: Data("c".utf8))
            _ = FileManager.default.createFile(atPath: "\(directory)/key.pem", contents: Data("k".utf8))
            var flags = NodeConfiguration.Overrides()
            flags.dataDirectory = "\(directory)/flag-data"
            flags.logLevel = "trace"
            flags.logFormat = "json"
            flags.mqttListen = "127.0.0.1:18999"
            flags.mqttTLSListen = "127.0.0.1:18998"
            flags.tlsCertificate = "\(directory)/cert.pem"
            flags.tlsKey = "\(directory)/key.pem"
            flags.maxConnections = "11"
            flags.maxPacketSize = "128"
            flags.maxInflight = "12"
            flags.maxQueuedMessages = "13"
            let configuration = try load(flags: flags, in: directory)
            #expect(configuration.dataDirectory == "\(directory)/flag-data")
            #expect(configuration.logLevel == .trace)
            #expect(configuration.logFormat == .json)
            #expect(configuration.mqtt.tcp == BrokerConfiguration.Endpoint(host: "127.0.0.1", port: 18999))
            #expect(configuration.mqtt.tls == BrokerConfiguration.Endpoint(host: "127.0.0.1", port: 18998))
            #expect(configuration.mqtt.tlsFiles?.certificatePath == "\(directory)/cert.pem")
            #expect(configuration.mqtt.tlsFiles?.keyPath == "\(directory)/key.pem")
            #expect(configuration.mqtt.maxConnections == 11)
            #expect(configuration.mqtt.maxPacketSize == 128)
            #expect(configuration.mqtt.maxInflight == 12)
            #expect(configuration.mqtt.maxQueuedMessages == 13)
        }
    }

    @Test("the file named by --config is read, and REFLEX_CONFIG names it otherwise") func configFileSources() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let flagFile = "\(directory)/flag.yaml"
            let environmentFile = "\(directory)/env.yaml"
            try "dataDirectory: \(directory)/d\nmqtt:\n  maxInflight: 5\n".write(
                toFile: flagFile,
                atomically: true,
                encoding: .utf8
            )
            try "dataDirectory: \(directory)/d\nmqtt:\n  maxInflight: 6\n".write(
                toFile: environmentFile,
                atomically: true,
                encoding: .utf8
            )
            let environment = ["REFLEX_CONFIG": environmentFile]
            let fromFlag = try NodeConfiguration.load(
                configFile: flagFile,
                environment: environment,
                overrides: .init()
            )
            let fromEnvironment = try NodeConfiguration.load(
                configFile: nil,
                environment: environment,
                overrides: .init()
            )
            #expect(fromFlag.mqtt.maxInflight == 5)
            #expect(fromEnvironment.mqtt.maxInflight == 6)
        }
    }
}
