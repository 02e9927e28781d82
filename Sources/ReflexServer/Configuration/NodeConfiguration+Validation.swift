import Foundation
import ReflexMQTT
import ReflexNode

extension NodeConfiguration {
    /// Checks that need more than one setting, or the file system: listeners, TLS files, the
    /// data directory. Runs after every value parsed.
    func validate(settings: [SettingKey: RawSetting]) throws(ConfigurationError) {
        func origin(_ key: SettingKey) -> String {
            settings[key].map { "\($0.source)" } ?? "by default"
        }

        if mqtt.tcp == nil && mqtt.tls == nil {
            throw ConfigurationError(
                key: SettingKey.mqttListen.rawValue,
                message: "mqtt.listen \(origin(.mqttListen)): no MQTT listener is left: mqtt.listen is off and "
                    + "mqtt.tlsListen is not set; set \(SettingKey.mqttListen.waysToSet) to a host:port such as "
                    + "0.0.0.0:1883, or configure a TLS listener"
            )
        }

        if let tls = mqtt.tls {
            for fileKey in [SettingKey.mqttTLSCertificate, .mqttTLSKey] {
                let what = fileKey == .mqttTLSCertificate ? "certificate" : "private key"
                guard let setting = settings[fileKey] else {
                    throw ConfigurationError(
                        key: fileKey.rawValue,
                        message: "mqtt.tlsListen \(origin(.mqttTLSListen)) is \(tls), but no TLS \(what) is "
                            + "configured; set \(fileKey.waysToSet) to a PEM file"
                    )
                }
                try Self.checkReadableFile(setting.text, key: fileKey, source: setting.source, what: what)
            }
        }

        if let tcp = mqtt.tcp, let tls = mqtt.tls, tcp.port != 0, tcp.port == tls.port,
            tcp.host == tls.host || Self.isWildcard(tcp.host) || Self.isWildcard(tls.host)
        {
            throw ConfigurationError(
                key: SettingKey.mqttTLSListen.rawValue,
                message: "mqtt.tlsListen \(origin(.mqttTLSListen)): port \(tls.port) is already used by mqtt.listen "
                    + "(\(tcp), \(origin(.mqttListen))); give the TLS listener its own port, usually 8883"
            )
        }

        if let http = http.listen, http.port != 0 {
            for (key, endpoint) in [(SettingKey.mqttListen, mqtt.tcp), (.mqttTLSListen, mqtt.tls)] {
                guard let endpoint, endpoint.port == http.port,
                    endpoint.host == http.host || Self.isWildcard(endpoint.host) || Self.isWildcard(http.host)
                else { continue }
                throw ConfigurationError(
                    key: SettingKey.httpListen.rawValue,
                    message: "http.listen \(origin(.httpListen)): port \(http.port) is already used by "
                        + "\(key.rawValue) (\(endpoint), \(origin(key))); give the HTTP API its own port, usually 8080"
                )
            }
        }

        try Self.prepareDataDirectory(dataDirectory, source: origin(.dataDirectory))
    }

    private static func isWildcard(_ host: String) -> Bool {
        host == "0.0.0.0" || host == "::"
    }

    private static func checkReadableFile(
        _ path: String,
        key: SettingKey,
        source: SettingSource,
        what: String
    ) throws(ConfigurationError) {
        var isDirectory: ObjCBool = false
        let problem: String?
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            problem = "does not exist"
        } else if isDirectory.boolValue {
            problem = "is a directory, not a file"
        } else if !FileManager.default.isReadableFile(atPath: path) {
            problem = "is not readable by this user"
        } else {
            problem = nil
        }
        if let problem {
            throw ConfigurationError(
                key: key.rawValue,
                message: "\(key.rawValue) \(source): the TLS \(what) file '\(path)' \(problem)\(relativeNote(path)); "
                    + "point it at a readable PEM file"
            )
        }
    }

    /// Creates the data directory if needed and checks that a file can be written in it.
    private static func prepareDataDirectory(_ path: String, source: String) throws(ConfigurationError) {
        func failure(_ problem: String) -> ConfigurationError {
            ConfigurationError(
                key: SettingKey.dataDirectory.rawValue,
                message: "dataDirectory \(source): \(problem)\(relativeNote(path)); choose a writable directory with "
                    + SettingKey.dataDirectory.waysToSet
            )
        }
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw failure("'\(path)' exists and is not a directory") }
        } else {
            do {
                try fileManager.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw failure("cannot create the directory '\(path)' (\(Self.reason(error)))")
            }
        }
        // Root may write anywhere the file system allows, so try it rather than ask access(2).
        let probe = (path as NSString).appendingPathComponent(
            ".reflex-write-check-\(ProcessInfo.processInfo.processIdentifier)"
        )
        guard fileManager.createFile(atPath: probe, contents: Data()) else {
            throw failure("the directory '\(path)' is not writable")
        }
        try? fileManager.removeItem(atPath: probe)
    }

    private static func reason(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.underlying as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        return (error as NSError).localizedDescription
    }
}
