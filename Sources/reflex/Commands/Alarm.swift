import ArgumentParser
import Foundation

/// `reflex alarm ...`: alarms of a running server.
struct AlarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarm",
        abstract: "List, show, acknowledge, shelve and annotate alarms (talks to a running server).",
        discussion: """
            Alarms are raised by rules (one per device and alarm type per episode) and clear by \
            themselves when the rule's clear condition holds. Reading needs a viewer token; \
            acting needs an operator token (--token or REFLEX_TOKEN).

            Examples:
              reflex alarm list
              reflex alarm list --state all --device pump-1
              reflex alarm show a12
              reflex alarm ack a12 --note "crew on site"
              reflex alarm shelve a12 --for 2h --reason "known, bearing ordered"
              reflex alarm note a12 "bearing replaced"
            """,
        subcommands: [AlarmList.self, AlarmShow.self, AlarmAck.self, AlarmShelve.self, AlarmNote.self]
    )
}

func printAlarm(_ a: [String: Any], history: Bool) {
    let shelved = (a["shelvedUntil"] as? NSNumber).map { " shelved until \(timeText($0))" } ?? ""
    let flapping = (a["flapping"] as? Bool) == true ? " FLAPPING" : ""
    print(
        "\(valueText(a["id"]))  \(valueText(a["severity"]))  \(valueText(a["state"]))  \(valueText(a["device"]))  "
            + "\(valueText(a["type"]))  raised \(timeText(a["raisedAt"]))\(shelved)\(flapping)"
    )
    print("    \(valueText(a["message"]))")
    guard history else { return }
    if let rule = a["rule"] as? String { print("    rule: \(rule)") }
    for note in a["notes"] as? [[String: Any]] ?? [] {
        print("    note \(timeText(note["at"])) \(valueText(note["by"])): \(valueText(note["text"]))")
    }
    for step in a["history"] as? [[String: Any]] ?? [] {
        print(
            "    \(timeText(step["at"]))  \(valueText(step["state"]))  \(valueText(step["by"]))  \(valueText(step["detail"]))"
        )
    }
}

struct AlarmList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List alarms, newest first.")
    @OptionGroup var server: ServerOptions
    @Option(help: "open (default: not cleared), active, acknowledged, cleared or all.") var state: String?
    @Option(help: "Only this device.") var device: String?
    @Option(help: "At most this many (default 100).") var limit: Int?

    func run() async throws {
        let object = try await server.request(
            "GET",
            "/api/v1/alarms" + queryString([("state", state), ("device", device), ("limit", limit.map(String.init))])
        )
        if server.printJSON(object) { return }
        let alarms = object["alarms"] as? [[String: Any]] ?? []
        if alarms.isEmpty { print("No alarms.") }
        for alarm in alarms { printAlarm(alarm, history: false) }
    }
}

struct AlarmShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show an alarm with its notes and history."
    )
    @OptionGroup var server: ServerOptions
    @Argument(help: "The alarm id, e.g. a12.") var id: String

    func run() async throws {
        let object = try await server.request("GET", "/api/v1/alarms/\(pathSegment(id))")
        if server.printJSON(object) { return }
        printAlarm(object, history: true)
    }
}

struct AlarmAck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ack", abstract: "Acknowledge an active alarm.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "The alarm id.") var id: String
    @Option(help: "A note to keep with it.") var note: String?

    func run() async throws {
        var body: [String: Any] = [:]
        if let note { body["note"] = note }
        let object = try await server.request("POST", "/api/v1/alarms/\(pathSegment(id))/acknowledge", body: body)
        if server.printJSON(object) { return }
        printAlarm(object, history: false)
    }
}

struct AlarmShelve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shelve",
        abstract: "Shelve an alarm for a while (it stays open and returns by itself); --off unshelves it."
    )
    @OptionGroup var server: ServerOptions
    @Argument(help: "The alarm id.") var id: String
    @Option(name: .customLong("for"), help: ArgumentHelp("How long, e.g. 30m, 2h.", valueName: "duration"))
    var duration: String?
    @Option(help: "Why.") var reason: String?
    @Flag(help: "Unshelve it instead.") var off = false

    func validate() throws {
        if !off && duration == nil {
            throw ValidationError("give --for DURATION (e.g. --for 1h), or --off to unshelve")
        }
    }

    func run() async throws {
        let object: [String: Any]
        if off {
            object = try await server.request(
                "POST",
                "/api/v1/alarms/\(pathSegment(id))/unshelve",
                body: [String: Any]()
            )
        } else {
            var body: [String: Any] = ["for": duration ?? ""]
            if let reason { body["reason"] = reason }
            object = try await server.request("POST", "/api/v1/alarms/\(pathSegment(id))/shelve", body: body)
        }
        if server.printJSON(object) { return }
        printAlarm(object, history: false)
    }
}

struct AlarmNote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "note", abstract: "Add a note to an alarm.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "The alarm id.") var id: String
    @Argument(help: "The note.") var text: String

    func run() async throws {
        let object = try await server.request("POST", "/api/v1/alarms/\(pathSegment(id))/notes", body: ["text": text])
        if server.printJSON(object) { return }
        printAlarm(object, history: true)
    }
}
