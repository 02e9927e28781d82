import Foundation
import ReflexMQTT
import ReflexNode
import ReflexServer
import Testing

@Suite struct ConfigurationErrorTests {
    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var yaml: String? = nil
        var environment: [String: String] = [:]
        var flags = NodeConfiguration.Overrides()
        var key: String?
        var message: String
        var testDescription: String { message }
    }

    static func flags(_ set: (inout NodeConfiguration.Overrides) -> Void) -> NodeConfiguration.Overrides {
        var flags = NodeConfiguration.Overrides()
        set(&flags)
        return flags
    }

    static let valueCases: [ErrorCase] = [
        ErrorCase(
            yaml: "log:\n  level: info\nmqtt:\n  maxPacketSize: big\n",
            key: "mqtt.maxPacketSize",
            message: "mqtt.maxPacketSize in /etc/reflex.yaml line 4: expected a whole number of bytes between 64 and "
                + "268435455, got 'big'; units KiB, MiB are accepted"
        ),
        ErrorCase(
            environment: ["REFLEX_MQTT_MAX_PACKET_SIZE": "300MiB"],
            key: "mqtt.maxPacketSize",
            message:
                "mqtt.maxPacketSize from environment variable REFLEX_MQTT_MAX_PACKET_SIZE: expected a whole number "
                + "of bytes between 64 and 268435455, got '300MiB'; units KiB, MiB are accepted"
        ),
        ErrorCase(
            environment: ["REFLEX_MQTT_MAX_INFLIGHT": "0"],
            key: "mqtt.maxInflight",
            message: "mqtt.maxInflight from environment variable REFLEX_MQTT_MAX_INFLIGHT: expected a whole number of "
                + "messages between 1 and 65535, got '0'"
        ),
        ErrorCase(
            flags: flags { $0.maxConnections = "-5" },
            key: "mqtt.maxConnections",
            message:
                "mqtt.maxConnections from flag --max-connections: expected a whole number of connections between 1 "
                + "and 10000000, got '-5'"
        ),
        ErrorCase(
            flags: flags { $0.maxQueuedMessages = "lots" },
            key: "mqtt.maxQueuedMessages",
            message: "mqtt.maxQueuedMessages from flag --max-queued-messages: expected a whole number of messages "
                + "between 1 and 10000000, got 'lots'"
        ),
        ErrorCase(
            flags: flags { $0.logLevel = "warn" },
            key: "log.level",
            message: "log.level from flag --log-level: expected one of trace, debug, info, notice, warning, error, "
                + "critical, got 'warn'; did you mean 'warning'?"
        ),
        ErrorCase(
            flags: flags { $0.logLevel = "loud" },
            key: "log.level",
            message: "log.level from flag --log-level: expected one of trace, debug, info, notice, warning, error, "
                + "critical, got 'loud'"
        ),
        ErrorCase(
            environment: ["REFLEX_LOG_FORMAT": "xml"],
            key: "log.format",
            message: "log.format from environment variable REFLEX_LOG_FORMAT: expected one of text, json, got 'xml'"
        ),
        ErrorCase(
            environment: ["REFLEX_MQTT_QUEUE_OVERFLOW": "dropp"],
            key: "mqtt.queueOverflow",
            message: "mqtt.queueOverflow from environment variable REFLEX_MQTT_QUEUE_OVERFLOW: expected one of "
                + "disconnect, drop, got 'dropp'; did you mean 'drop'?"
        ),
        ErrorCase(
            environment: ["REFLEX_MQTT_SYS_INTERVAL": "-1"],
            key: "mqtt.sysInterval",
            message: "mqtt.sysInterval from environment variable REFLEX_MQTT_SYS_INTERVAL: expected a duration in "
                + "seconds between 0 and 86400 (0 turns $SYS topics off), got '-1'; write seconds, or add a unit: "
                + "90s, 5m, 2h, 7d"
        ),
        ErrorCase(
            yaml: "mqtt:\n  maxKeepAlive: 2d\n",
            key: "mqtt.maxKeepAlive",
            message: "mqtt.maxKeepAlive in /etc/reflex.yaml line 2: expected a duration in seconds between 1 and "
                + "65535, got '2d'; write seconds, or add a unit: 90s, 5m, 2h, 7d"
        ),
        ErrorCase(
            yaml: "mqtt:\n  topicAliasMaximum: 70000\n",
            key: "mqtt.topicAliasMaximum",
            message: "mqtt.topicAliasMaximum in /etc/reflex.yaml line 2: expected a whole number of aliases between 0 "
                + "and 65535, got '70000'"
        ),
        ErrorCase(
            flags: flags { $0.mqttListen = "1883" },
            key: "mqtt.listen",
            message: "mqtt.listen from flag --mqtt-listen: expected host:port (e.g. 0.0.0.0:1883 or [::1]:1883), or "
                + "'off', got '1883'; add a host, e.g. 0.0.0.0:1883 for all interfaces"
        ),
        ErrorCase(
            environment: ["REFLEX_MQTT_TLS_LISTEN": "::1:8883"],
            key: "mqtt.tlsListen",
            message: "mqtt.tlsListen from environment variable REFLEX_MQTT_TLS_LISTEN: expected host:port (e.g. "
                + "0.0.0.0:1883 or [::1]:1883), or 'off', got '::1:8883'; write IPv6 addresses in brackets, e.g. "
                + "[::1]:8883"
        ),
        ErrorCase(
            yaml: "mqtt:\n  listen:\n    - \"::1\"\n",
            key: "mqtt.listen",
            message: "mqtt.listen in /etc/reflex.yaml line 2: expected a single value, got a list; quote IPv6 "
                + "addresses in YAML, e.g. listen: \"[::1]:1883\""
        ),
        ErrorCase(
            environment: ["REFLEX_MQTT_LISTEN": ""],
            key: "mqtt.listen",
            message: "mqtt.listen from environment variable REFLEX_MQTT_LISTEN: no MQTT listener is left: mqtt.listen "
                + "is off and mqtt.tlsListen is not set; set `mqtt.listen` in the config file, REFLEX_MQTT_LISTEN or "
                + "--mqtt-listen to a host:port such as 0.0.0.0:1883, or configure a TLS listener"
        ),
        ErrorCase(
            flags: flags { $0.mqttTLSListen = "0.0.0.0:8883" },
            key: "mqtt.tls.certificate",
            message:
                "mqtt.tlsListen from flag --mqtt-tls-listen is 0.0.0.0:8883, but no TLS certificate is configured; "
                + "set `mqtt.tls.certificate` in the config file, REFLEX_MQTT_TLS_CERT or --tls-cert to a PEM file"
        ),
        ErrorCase(
            yaml: "mqtt: 5\n",
            key: "mqtt",
            message: "mqtt in /etc/reflex.yaml line 1: expected a section with the keys listen, tlsListen, tls, "
                + "maxConnections, maxPacketSize, maxInflight, maxQueuedMessages, queueOverflow, maxTopicLength, "
                + "maxTopicLevels, maxKeepAlive, v311SessionExpiry, maxSessionExpiry, topicAliasMaximum, sysInterval, "
                + "sessionSaveInterval, allowAnonymous, retained, got the value '5'"
        ),
        ErrorCase(
            yaml: "- listen\n",
            key: nil,
            message: "/etc/reflex.yaml line 1: expected settings as `key: value` lines at the top level, got a list; "
                + "see `reflex serve --help` for the keys"
        ),
        ErrorCase(
            yaml: "mqtt:\n  listen: \"0.0.0.0:1883\n",
            key: nil,
            message: "/etc/reflex.yaml line 3 column 1: not valid YAML: found unexpected end of stream"
        ),
        ErrorCase(
            yaml: "mqtt:\n  maxInflight: 5\n  maxInflight: 6\n",
            key: nil,
            message: "/etc/reflex.yaml line 2: 'maxInflight' set twice in the same section; remove one of them"
        ),
        ErrorCase(
            environment: ["REFLEX_MQTT_MAX_INFLIGHT": "0", "REFLEX_LOG_FORMAT": "xml"],
            key: "log.format",
            message: "log.format from environment variable REFLEX_LOG_FORMAT: expected one of text, json, got 'xml'\n"
                + "mqtt.maxInflight from environment variable REFLEX_MQTT_MAX_INFLIGHT: expected a whole number of "
                + "messages between 1 and 65535, got '0'"
        ),
    ]

    @Test("a bad value is reported with its key, its source and what is accepted", arguments: valueCases)
    func badValue(_ testCase: ErrorCase) throws {
        try withTemporaryDirectory { (directory: String) throws in
            let error = #expect(throws: ConfigurationError.self) {
                try load(yaml: testCase.yaml, environment: testCase.environment, flags: testCase.flags, in: directory)
            }
            #expect(error?.message == testCase.message)
            #expect(error?.key == testCase.key)
            #expect(error?.description == testCase.message)
        }
    }

    @Test(
        "an unknown YAML key is rejected with a suggestion",
        arguments: [
            (
                "mqtt:\n  maxPacketSzie: 5\n",
                "unknown key 'mqtt.maxPacketSzie' in /etc/reflex.yaml line 2; did you mean 'mqtt.maxPacketSize'?"
            ),
            (
                "mqtt:\n  max_packet_size: 5\n",
                "unknown key 'mqtt.max_packet_size' in /etc/reflex.yaml line 2; did you mean 'mqtt.maxPacketSize'?"
            ),
            ("logg:\n  level: info\n", "unknown key 'logg' in /etc/reflex.yaml line 1; did you mean 'log'?"),
            (
                "mqtt:\n  tls:\n    cert: a.pem\n",
                "unknown key 'mqtt.tls.cert' in /etc/reflex.yaml line 3; did you mean 'mqtt.tls.certificate'?"
            ),
            (
                "maxInflight: 5\n",
                "unknown key 'maxInflight' in /etc/reflex.yaml line 1; did you mean 'mqtt.maxInflight'? (it belongs under `mqtt`)"
            ),
            (
                "metrics:\n  port: 80\n",
                // /metrics is served on the HTTP listener; its one setting is http.metricsPublic.
                "unknown key 'metrics' in /etc/reflex.yaml line 1; did you mean 'http.metricsPublic'? (it belongs under `http`)"
            ),
            (
                "http:\n  port: 80\n",
                "unknown key 'http.port' in /etc/reflex.yaml line 2; known keys under `http`: listen, headerTimeout, bodyTimeout, idleTimeout, maxConnections, metricsPublic"
            ),
            (
                "log:\n  colour: red\n",
                "unknown key 'log.colour' in /etc/reflex.yaml line 2; known keys under `log`: level, format"
            ),
        ]
    )
    func unknownKey(yaml: String, message: String) throws {
        try withTemporaryDirectory { (directory: String) throws in
            let error = #expect(throws: ConfigurationError.self) { try load(yaml: yaml, in: directory) }
            #expect(error?.message == message)
        }
    }

    @Test("an empty file and empty sections are accepted", arguments: ["", "# nothing yet\n", "mqtt:\n", "log: ~\n"])
    func emptyFile(yaml: String) throws {
        try withTemporaryDirectory { (directory: String) throws in
            #expect(try load(yaml: yaml, in: directory).mqtt == NodeConfiguration().mqtt)
        }
    }

    @Test("a TLS listener needs certificate and key files that exist") func tlsFiles() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let certificate = "\(directory)/cert.pem"
            _ = FileManager.default.createFile(atPath: certificate, contents: Data("c".utf8))
            var flags = NodeConfiguration.Overrides()
            flags.mqttTLSListen = "0.0.0.0:8883"
            flags.tlsCertificate = certificate

            let missingKey = #expect(throws: ConfigurationError.self) { try load(flags: flags, in: directory) }
            #expect(
                missingKey?.message == "mqtt.tlsListen from flag --mqtt-tls-listen is 0.0.0.0:8883, but no TLS private "
                    + "key is configured; set `mqtt.tls.key` in the config file, REFLEX_MQTT_TLS_KEY or --tls-key to a PEM file"
            )

            let absentKey = #expect(throws: ConfigurationError.self) {
                try load(environment: ["REFLEX_MQTT_TLS_KEY": "\(directory)/nope.key"], flags: flags, in: directory)
            }
            #expect(absentKey?.key == "mqtt.tls.key")
            #expect(
                absentKey?.message == "mqtt.tls.key from environment variable REFLEX_MQTT_TLS_KEY: the TLS private key "
                    + "file '\(directory)/nope.key' does not exist; point it at a readable PEM file"
            )

            flags.tlsKey = directory
            let directoryKey = #expect(throws: ConfigurationError.self) { try load(flags: flags, in: directory) }
            #expect(
                directoryKey?.message
                    == "mqtt.tls.key from flag --tls-key: the TLS private key file '\(directory)' is a "
                    + "directory, not a file; point it at a readable PEM file"
            )

            flags.tlsCertificate = "missing-cert.pem"
            let relative = #expect(throws: ConfigurationError.self) { try load(flags: flags, in: directory) }
            #expect(
                relative?.message == "mqtt.tls.certificate from flag --tls-cert: the TLS certificate file "
                    + "'missing-cert.pem' does not exist (relative to the working directory "
                    + "\(FileManager.default.currentDirectoryPath)); point it at a readable PEM file"
            )
        }
    }

    @Test("the TLS listener may not take the plain listener's port") func portClash() throws {
        try withTemporaryDirectory { (directory: String) throws in
            _ = FileManager.default.createFile(atPath: "\(directory)/c.pem", contents: Data())
            var flags = NodeConfiguration.Overrides()
            flags.mqttTLSListen = "127.0.0.1:1883"
            flags.tlsCertificate = "\(directory)/c.pem"
            flags.tlsKey = "\(directory)/c.pem"
            let error = #expect(throws: ConfigurationError.self) { try load(flags: flags, in: directory) }
            #expect(
                error?.message
                    == "mqtt.tlsListen from flag --mqtt-tls-listen: port 1883 is already used by mqtt.listen "
                    + "(0.0.0.0:1883, by default); give the TLS listener its own port, usually 8883"
            )
            flags.mqttListen = "127.0.0.2:1883"
            #expect(try load(flags: flags, in: directory).mqtt.tls?.port == 1883)
        }
    }

    @Test("the data directory is created, and must be a writable directory") func dataDirectory() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let nested = "\(directory)/a/b/c"
            #expect(try load(environment: ["REFLEX_DATA_DIR": nested], in: directory).dataDirectory == nested)
            #expect(FileManager.default.fileExists(atPath: nested))
            #expect(try FileManager.default.contentsOfDirectory(atPath: nested).isEmpty)

            let file = "\(directory)/plain-file"
            _ = FileManager.default.createFile(atPath: file, contents: Data())
            let notDirectory = #expect(throws: ConfigurationError.self) {
                try load(environment: ["REFLEX_DATA_DIR": file], in: directory)
            }
            #expect(
                notDirectory?.message
                    == "dataDirectory from environment variable REFLEX_DATA_DIR: '\(file)' exists and "
                    + "is not a directory; choose a writable directory with `dataDirectory` in the config file, "
                    + "REFLEX_DATA_DIR or --data-dir"
            )

            var flags = NodeConfiguration.Overrides()
            flags.dataDirectory = "\(file)/data"
            let uncreatable = #expect(throws: ConfigurationError.self) { try load(flags: flags, in: directory) }
            #expect(uncreatable?.key == "dataDirectory")
            #expect(
                uncreatable?.message.hasPrefix(
                    "dataDirectory from flag --data-dir: cannot create the directory '\(file)/data' ("
                )
                    == true
            )
        }
    }

    @Test("a missing configuration file is named with where it was given") func missingConfigFile() {
        let error = #expect(throws: ConfigurationError.self) {
            try NodeConfiguration.load(
                configFile: nil,
                environment: ["REFLEX_CONFIG": "/nonexistent/reflex.yaml"],
                overrides: .init()
            )
        }
        #expect(
            error?.message == "configuration file '/nonexistent/reflex.yaml' (from environment variable REFLEX_CONFIG) "
                + "does not exist; check the path, or leave it out to use the defaults"
        )
    }
}
