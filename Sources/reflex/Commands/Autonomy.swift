import ArgumentParser
import Foundation

/// `reflex autonomy on|off|status`: the global autonomy switch.
struct AutonomyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autonomy",
        abstract: "Switch autonomy on or off for the whole node (admin), or show it.",
        discussion: """
            Off, rules still evaluate and raise alarms, but no rule or fail-safe command is sent; \
            each suppressed action is audited. Operators can still send commands.

            Examples:
              reflex autonomy status
              reflex autonomy off --reason "commissioning"
              reflex autonomy on
            """,
        subcommands: [AutonomyOn.self, AutonomyOff.self, AutonomyStatus.self]
    )
}

func printAutonomy(_ a: [String: Any]) {
    let state = (a["enabled"] as? Bool) == false ? "off" : "on"
    var line = "autonomy \(state)"
    if let by = a["changedBy"] as? String { line += " (by \(by) at \(timeText(a["changedAt"])))" }
    if let reason = a["reason"] as? String { line += ": \(reason)" }
    print(line)
}

struct AutonomyOn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "on", abstract: "Let rules and fail-safes act.")
    @OptionGroup var server: ServerOptions
    @Option(help: "Why, for the audit log.") var reason: String?

    func run() async throws {
        var body: [String: Any] = ["enabled": true]
        if let reason { body["reason"] = reason }
        let object = try await server.request("PUT", "/api/v1/autonomy", body: body)
        if server.printJSON(object) { return }
        printAutonomy(object)
    }
}

struct AutonomyOff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "off", abstract: "Stop every autonomous command.")
    @OptionGroup var server: ServerOptions
    @Option(help: "Why, for the audit log.") var reason: String?

    func run() async throws {
        var body: [String: Any] = ["enabled": false]
        if let reason { body["reason"] = reason }
        let object = try await server.request("PUT", "/api/v1/autonomy", body: body)
        if server.printJSON(object) { return }
        printAutonomy(object)
    }
}

struct AutonomyStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the autonomy switch.")
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let object = try await server.request("GET", "/api/v1/autonomy")
        if server.printJSON(object) { return }
        printAutonomy(object)
    }
}
