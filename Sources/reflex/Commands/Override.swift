import ArgumentParser
import Foundation

/// `reflex override ...`: Hand-Off-Auto per device.
struct OverrideCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "override",
        abstract: "Put a device in manual (autonomy never commands it), release it, or show its mode.",
        discussion: """
            While a device is in manual, no rule and no fail-safe sends it a command; each blocked \
            attempt is in the audit log. Operators can still send commands themselves.

            Examples:
              reflex override set pump-1 --reason "bearing replacement" --for 2h
              reflex override show pump-1
              reflex override release pump-1
            """,
        subcommands: [OverrideSet.self, OverrideRelease.self, OverrideShow.self]
    )
}

func printOverride(_ o: [String: Any]) {
    var line = "\(valueText(o["device"])): \(valueText(o["mode"]))"
    if (o["mode"] as? String) == "manual" {
        line +=
            " by \(valueText(o["by"])) since \(timeText(o["since"])) until "
            + ((o["until"] as? NSNumber).map { timeText($0) } ?? "released") + ": \(valueText(o["reason"]))"
    }
    print(line)
    if let fs = o["failSafe"] as? [String: Any], (fs["active"] as? Bool) == true {
        print("fail-safe active since \(timeText(fs["since"])): \(valueText(fs["reason"]))")
    }
}

struct OverrideSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Put a device in manual.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "The device id.") var device: String
    @Option(help: "Why (required; it is shown to everyone and audited).") var reason: String
    @Option(
        name: .customLong("for"),
        help: ArgumentHelp("How long, e.g. 30m; without it, until released.", valueName: "duration")
    )
    var duration: String?

    func run() async throws {
        var body: [String: Any] = ["reason": reason]
        if let duration { body["for"] = duration }
        let object = try await server.request("PUT", "/api/v1/devices/\(pathSegment(device))/override", body: body)
        if server.printJSON(object) { return }
        printOverride(object)
    }
}

struct OverrideRelease: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Return a device to automatic.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "The device id.") var device: String

    func run() async throws {
        let object = try await server.request("DELETE", "/api/v1/devices/\(pathSegment(device))/override")
        if server.printJSON(object) { return }
        printOverride(object)
    }
}

struct OverrideShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a device's mode and fail-safe state."
    )
    @OptionGroup var server: ServerOptions
    @Argument(help: "The device id.") var device: String

    func run() async throws {
        let object = try await server.request("GET", "/api/v1/devices/\(pathSegment(device))/override")
        if server.printJSON(object) { return }
        printOverride(object)
    }
}
