import ReflexNode
import Yams

/// Reads a YAML configuration file into raw settings, rejecting unknown and duplicate keys.
///
/// Values stay text here; they are parsed together with the environment and flags, so that every
/// source gets the same checks and messages.
enum YAMLSettings {
    /// - Parameters:
    ///   - yaml: the file's contents.
    ///   - path: the file's path, for messages.
    /// - Returns: the settings the file sets, each with its line.
    static func read(_ yaml: String, path: String) throws(ConfigurationError) -> [SettingKey: RawSetting] {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigurationError(key: nil, message: describe(error, path: path))
        } catch {
            throw ConfigurationError(key: nil, message: "\(path) is not valid YAML: \(error)")
        }
        guard let root else { return [:] }  // an empty file sets nothing
        if isNull(root) { return [:] }
        guard case .mapping(let mapping) = root else {
            throw ConfigurationError(
                key: nil,
                message: "\(path)\(lineText(root.mark)): expected settings as `key: value` lines at the top level, "
                    + "got \(kind(of: root)); see `reflex serve --help` for the keys"
            )
        }
        var settings: [SettingKey: RawSetting] = [:]
        try walk(mapping, prefix: [], path: path, into: &settings)
        return settings
    }

    private static func walk(
        _ mapping: Yams.Node.Mapping,
        prefix: [String],
        path: String,
        into settings: inout [SettingKey: RawSetting]
    ) throws(ConfigurationError) {
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw ConfigurationError(
                    key: prefix.isEmpty ? nil : prefix.joined(separator: "."),
                    message: "\(path)\(lineText(keyNode.mark)): expected a key name, got \(kind(of: keyNode))"
                )
            }
            let name = keyScalar.string
            let dotted = (prefix + [name]).joined(separator: ".")
            let source = SettingSource.file(path: path, line: keyNode.mark?.line)
            if DetectionRulesYAML.structuredKeys.contains(dotted) {
                continue  // read by DetectionRulesYAML, with its own checks
            } else if let key = SettingKey(rawValue: dotted) {
                settings[key] = RawSetting(text: try scalarText(valueNode, key: key, source: source), source: source)
            } else if isSection(prefix + [name]) {
                if isNull(valueNode) { continue }  // `mqtt:` with nothing under it
                guard case .mapping(let inner) = valueNode else {
                    throw ConfigurationError(
                        key: dotted,
                        message: "\(dotted) \(source): expected a section with the keys "
                            + "\(children(of: prefix + [name]).joined(separator: ", ")), got \(kind(of: valueNode))"
                    )
                }
                try walk(inner, prefix: prefix + [name], path: path, into: &settings)
            } else {
                throw unknownKey(name, prefix: prefix, source: source)
            }
        }
    }

    private static func unknownKey(_ name: String, prefix: [String], source: SettingSource) -> ConfigurationError {
        let dotted = (prefix + [name]).joined(separator: ".")
        let siblings = children(of: prefix)
        let hint: String
        if let sibling = Suggestion.closest(to: name, in: siblings) {
            hint = "did you mean '\((prefix + [sibling]).joined(separator: "."))'?"
        } else if let elsewhere = Suggestion.closest(to: name, in: SettingKey.allCases.compactMap(\.path.last)),
            let key = SettingKey.allCases.first(where: { $0.path.last == elsewhere })
        {
            hint = "did you mean '\(key.rawValue)'? (it belongs under `\(key.path.dropLast().joined(separator: "."))`)"
        } else {
            let place = prefix.isEmpty ? "at the top level" : "under `\(prefix.joined(separator: "."))`"
            hint = "known keys \(place): \(siblings.joined(separator: ", "))"
        }
        return ConfigurationError(key: dotted, message: "unknown key '\(dotted)' \(source); \(hint)")
    }

    /// The text of a scalar value; null (`~` or nothing) reads as empty text.
    private static func scalarText(
        _ node: Yams.Node,
        key: SettingKey,
        source: SettingSource
    ) throws(ConfigurationError) -> String {
        if isNull(node) { return "" }
        if case .scalar(let scalar) = node { return scalar.string }
        var message = "\(key.rawValue) \(source): expected a single value, got \(kind(of: node))"
        if key == .mqttListen || key == .mqttTLSListen || key == .httpListen {
            message += "; quote IPv6 addresses in YAML, e.g. \(key.path.last ?? ""): \"[::1]:1883\""
        }
        throw ConfigurationError(key: key.rawValue, message: message)
    }

    /// Names directly under a section (`[]` is the top level), in declaration order.
    static func children(of prefix: [String]) -> [String] {
        var names: [String] = []
        for key in SettingKey.allCases
        where key.path.count > prefix.count && Array(key.path.prefix(prefix.count)) == prefix {
            let name = key.path[prefix.count]
            if !names.contains(name) { names.append(name) }
        }
        for key in DetectionRulesYAML.structuredKeys {
            let path = key.split(separator: ".").map(String.init)
            if Array(path.dropLast()) == prefix, let name = path.last, !names.contains(name) { names.append(name) }
        }
        return names
    }

    private static func isSection(_ path: [String]) -> Bool {
        SettingKey.allCases.contains { $0.path.count > path.count && Array($0.path.prefix(path.count)) == path }
    }

    private static func isNull(_ node: Yams.Node) -> Bool {
        guard case .scalar(let scalar) = node else { return false }
        if scalar.style != .plain { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private static func kind(of node: Yams.Node) -> String {
        switch node {
        case .scalar(let scalar): "the value '\(scalar.string)'"
        case .mapping: "a section (key: value pairs)"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    private static func lineText(_ mark: Mark?) -> String {
        mark.map { " line \($0.line)" } ?? ""
    }

    private static func describe(_ error: YamlError, path: String) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            "\(path) line \(mark.line) column \(mark.column): not valid YAML: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            "\(path) line \(context.mark.line): "
                + "\(duplicates.map { "'\($0)'" }.joined(separator: ", ")) set twice in the same section; remove one of them"
        default:
            "\(path) is not valid YAML: \(error)"
        }
    }
}
