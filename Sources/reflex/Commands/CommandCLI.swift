import ArgumentParser
import Foundation

/// `reflex command ...`: commands to devices through a running server.
struct CommandCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "command",
        abstract: "Send, list, show, approve and reject device commands (talks to a running server).",
        discussion: """
            Operator commands take the same path as rule commands: queued (while the device is \
            offline too), sent on devices/{id}/commands/{name}, acknowledged by the device, retried \
            without an ack, expired after their time to live. Commands of rules with `approval: true` \
            wait in pending_approval until approved.

            Examples:
              reflex command send pump-1 set_speed --param rpm=900 --ttl 5m
              reflex command send pump-1 stop --idempotency-key stop-2026-11-26
              reflex command list --device pump-1
              reflex command approve c17 --note "checked on site"
              reflex command reject c18 --reason "not during the shift change"
            """,
        subcommands: [CommandSend.self, CommandList.self, CommandShow.self, CommandApprove.self, CommandReject.self]
    )
}

func printCommand(_ c: [String: Any], history: Bool) {
    print(
        "\(valueText(c["id"]))  \(valueText(c["state"]))  \(valueText(c["device"]))  \(valueText(c["name"])) "
            + "\(valueText(c["params"]))  from \(valueText(c["origin"]))  attempts \(valueText(c["attempts"]))"
    )
    if let detail = c["detail"] as? String { print("    \(detail)") }
    guard history else { return }
    print("    created \(timeText(c["createdAt"])), expires \(timeText(c["expiresAt"]))")
    for step in c["history"] as? [[String: Any]] ?? [] {
        print("    \(timeText(step["at"]))  \(valueText(step["state"]))  \(valueText(step["detail"]))")
    }
}

struct CommandSend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "send", abstract: "Send a command to a device.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "The device id.") var device: String
    @Argument(help: "The command name, e.g. set_speed.") var name: String
    @Option(name: .customLong("param"), help: "A parameter key=value (a number, true/false or text); repeat for more.")
    var params: [String] = []
    @Option(help: "Time to live, e.g. 5m (default 5m).") var ttl: String?
    @Option(name: .customLong("idempotency-key"), help: "Sending twice with the same key makes one command.")
    var idempotencyKey: String?

    func parsedParams() throws -> [String: Any] {
        var out: [String: Any] = [:]
        for text in params {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw ValidationError("--param '\(text)' is not key=value; write e.g. --param rpm=900")
            }
            let key = String(text[..<equals])
            let value = String(text[text.index(after: equals)...])
            if let number = Double(value) {
                out[key] = number
            } else if value == "true" || value == "false" {
                out[key] = value == "true"
            } else {
                out[key] = value
            }
        }
        return out
    }

    func validate() throws { _ = try parsedParams() }

    func run() async throws {
        var body: [String: Any] = ["name": name, "params": try parsedParams()]
        if let ttl { body["ttl"] = ttl }
        if let idempotencyKey { body["idempotencyKey"] = idempotencyKey }
        let object = try await server.request("POST", "/api/v1/devices/\(pathSegment(device))/commands", body: body)
        if server.printJSON(object) { return }
        printCommand(object, history: false)
    }
}

struct CommandList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List commands, newest first.")
    @OptionGroup var server: ServerOptions
    @Option(help: "Only this device.") var device: String?
    @Option(help: "Only this state, e.g. pending_approval, queued, done, failed.") var state: String?
    @Option(help: "At most this many (default 100).") var limit: Int?

    func run() async throws {
        let object = try await server.request(
            "GET",
            "/api/v1/commands" + queryString([("device", device), ("state", state), ("limit", limit.map(String.init))])
        )
        if server.printJSON(object) { return }
        let commands = object["commands"] as? [[String: Any]] ?? []
        if commands.isEmpty { print("No commands.") }
        for command in commands { printCommand(command, history: false) }
    }
}

struct CommandShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a command and its history.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "The command id, e.g. c17.") var id: String

    func run() async throws {
        let object = try await server.request("GET", "/api/v1/commands/\(pathSegment(id))")
        if server.printJSON(object) { return }
        printCommand(object, history: true)
    }
}

struct CommandApprove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a command waiting for approval."
    )
    @OptionGroup var server: ServerOptions
    @Argument(help: "The command id.") var id: String
    @Option(help: "A note for the audit log.") var note: String?

    func run() async throws {
        var body: [String: Any] = [:]
        if let note { body["note"] = note }
        let object = try await server.request("POST", "/api/v1/commands/\(pathSegment(id))/approve", body: body)
        if server.printJSON(object) { return }
        printCommand(object, history: false)
    }
}

struct CommandReject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject",
        abstract: "Reject (cancel) a command waiting for approval."
    )
    @OptionGroup var server: ServerOptions
    @Argument(help: "The command id.") var id: String
    @Option(help: "Why, for the audit log.") var reason: String?

    func run() async throws {
        var body: [String: Any] = [:]
        if let reason { body["reason"] = reason }
        let object = try await server.request("POST", "/api/v1/commands/\(pathSegment(id))/reject", body: body)
        if server.printJSON(object) { return }
        printCommand(object, history: false)
    }
}
