import ArgumentParser
import Foundation
import ReflexNode
import ReflexServer

/// `reflex rules list|validate`.
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List a server's rules, or validate a rules file offline.",
        discussion: """
            Rules are YAML files in the rules directory (default <data-dir>/rules, --rules-dir), \
            reloaded when they change; see docs/automation.md for the syntax.

            Examples:
              reflex rules validate rules/pumps.yaml     # offline, no server needed
              reflex rules list
            """,
        subcommands: [RulesList.self, RulesValidate.self]
    )
}

struct RulesList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the server's rules with their status."
    )
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let object = try await server.request("GET", "/api/v1/rules")
        if server.printJSON(object) { return }
        let rules = object["rules"] as? [[String: Any]] ?? []
        if rules.isEmpty { print("No rules.") }
        for rule in rules {
            var flags: [String] = []
            if (rule["enabled"] as? Bool) == false { flags.append("disabled") }
            if (rule["dryRun"] as? Bool) == true { flags.append("dry run") }
            print(
                "\(valueText(rule["id"])) v\(valueText(rule["version"]))  \(valueText(rule["source"]))  "
                    + "fired \(valueText(rule["firedCount"])) times, last \(timeText(rule["lastFiredAt"]))"
                    + (flags.isEmpty ? "" : "  [\(flags.joined(separator: ", "))]")
            )
            for error in rule["errors"] as? [String] ?? [] { print("    error: \(error)") }
            for warning in rule["warnings"] as? [String] ?? [] { print("    warning: \(warning)") }
        }
    }
}

struct RulesValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a rules file without a server (exit status 1 if it has errors)."
    )
    @Argument(help: "The YAML file.") var file: String

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw fail("cannot read '\(file)'; check the path")
        }
        let result = RuleValidation.validate(String(decoding: data, as: UTF8.self), file: file)
        for ok in result.valid { print("ok: \(ok)") }
        for warning in result.warnings { print("warning: \(warning)") }
        for problem in result.problems { print("error: \(problem)") }
        if !result.problems.isEmpty {
            throw fail(
                "\(result.problems.count) problem(s) in \(file); fix them (metric names are checked by the server)"
            )
        }
    }
}
