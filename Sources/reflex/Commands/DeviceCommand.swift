import ArgumentParser
import Foundation
import ReflexCore
import ReflexStore

/// `reflex device ...`: manage the device registry in the data directory.
struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Register devices and manage their MQTT tokens.",
        discussion: """
            A device connects to the MQTT broker with its id as user name and its token as password, \
            and may only publish and subscribe under devices/<id>/. Tokens are shown once, when they \
            are created or rotated; the registry keeps only a salted hash.

            These commands work on <data-dir>/registry.sqlite directly and are safe to use while \
            `reflex serve` runs: a new or rotated token works at once; a disabled device or an old \
            token is refused within a second.

            Examples:
              reflex device add pump-7 --type pump --label site=plant-1 --label line=3
              reflex device list --type pump
              reflex device rotate-token pump-7
            """,
        subcommands: [
            DeviceAdd.self, DeviceList.self, DeviceShow.self, DeviceDisable.self, DeviceEnable.self,
            DeviceRotateToken.self,
        ]
    )
}

/// The text shown with a new device token.
func deviceTokenText(_ device: Device, token: String) -> String {
    """
    Token for device '\(device.id)' (store it now; it cannot be shown again):

        \(token)

    Connect with MQTT user name '\(device.id)' and this token as the password; the device may \
    publish and subscribe under devices/\(device.id)/.

    """
}

struct DeviceAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Register a device and print its token (once)."
    )

    @OptionGroup var options: RegistryOptions
    @Argument(help: "Device id: its MQTT user name and the <id> in devices/<id>/ (ASCII letters, digits, - _ . :).")
    var id: String
    @Option(help: ArgumentHelp("Display name (default: the id).", valueName: "name"))
    var name: String?
    @Option(help: ArgumentHelp("Device type, e.g. pump (default: generic).", valueName: "type"))
    var type: String?
    @Option(name: .customLong("label"), help: ArgumentHelp("A label; repeat for more.", valueName: "key=value"))
    var labels: [String] = []

    func run() async throws {
        let id = try parseDeviceID(id)
        var labelMap: [String: String] = [:]
        for text in labels {
            let label = try parseLabel(text)
            labelMap[label.key] = label.value
        }
        let registry = try await options.openRegistry()
        let (device, token) = try await reportingErrors {
            try await registry.addDevice(id: id, name: name, type: type, labels: labelMap)
        }
        print("Added device '\(device.id)' (name: \(device.name), type: \(device.type)).")
        print(deviceTokenText(device, token: token))
    }
}

struct DeviceList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the registered devices.")

    @OptionGroup var options: RegistryOptions
    @Option(help: ArgumentHelp("Only devices of this type.", valueName: "type"))
    var type: String?
    @Option(help: ArgumentHelp("Only devices with this label.", valueName: "key=value"))
    var label: String?
    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let label = try label.map(parseLabel)
        let registry = try await options.openRegistry()
        let devices = try await reportingErrors { try await registry.devices(type: type, label: label) }
        if json {
            print(String(decoding: try jsonEncoder().encode(devices), as: UTF8.self))
            return
        }
        if devices.isEmpty {
            print(
                "No devices\(type != nil || label != nil ? " match" : " yet; add one with `reflex device add <id>`")."
            )
            return
        }
        let rows = devices.map { device in
            [
                device.id.rawValue, device.name, device.type, device.isEnabled ? "yes" : "no",
                device.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                formatDate(device.createdAt),
            ]
        }
        print(table(["ID", "NAME", "TYPE", "ENABLED", "LABELS", "CREATED"], rows))
    }
}

struct DeviceShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one device (not its token).")

    @OptionGroup var options: RegistryOptions
    @Argument(help: "Device id.") var id: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let id = try parseDeviceID(id)
        let registry = try await options.openRegistry()
        guard let device = try await reportingErrors({ try await registry.device(id) }) else {
            throw fail("no device '\(id)' in \(registry.location); `reflex device list` shows the registered ones")
        }
        if json {
            print(String(decoding: try jsonEncoder().encode(device), as: UTF8.self))
            return
        }
        let labels = device.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        print(
            """
            id:            \(device.id)
            name:          \(device.name)
            type:          \(device.type)
            enabled:       \(device.isEnabled ? "yes" : "no")
            labels:        \(labels.isEmpty ? "-" : labels)
            created:       \(formatDate(device.createdAt))
            token rotated: \(formatDate(device.tokenRotatedAt))
            topics:        devices/\(device.id)/...
            """
        )
    }
}

struct DeviceDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract:
            "Stop a device from connecting and close its open connections (its token is kept; `enable` undoes it)."
    )

    @OptionGroup var options: RegistryOptions
    @Argument(help: "Device id.") var id: String

    func run() async throws {
        let id = try parseDeviceID(id)
        let registry = try await options.openRegistry()
        try await reportingErrors { try await registry.setEnabled(id, false) }
        print(
            "Disabled device '\(id)': new connections are refused, and a node running on this data directory "
                + "closes its open connections within a second (MQTT 5: DISCONNECT 0x87 not authorized)."
        )
    }
}

struct DeviceEnable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Let a disabled device connect again."
    )

    @OptionGroup var options: RegistryOptions
    @Argument(help: "Device id.") var id: String

    func run() async throws {
        let id = try parseDeviceID(id)
        let registry = try await options.openRegistry()
        try await reportingErrors { try await registry.setEnabled(id, true) }
        print("Enabled device '\(id)'.")
    }
}

struct DeviceRotateToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-token",
        abstract: "Replace a device's token and print the new one (once); the old one stops working."
    )

    @OptionGroup var options: RegistryOptions
    @Argument(help: "Device id.") var id: String

    func run() async throws {
        let id = try parseDeviceID(id)
        let registry = try await options.openRegistry()
        let token = try await reportingErrors { try await registry.rotateToken(id) }
        guard let device = try await reportingErrors({ try await registry.device(id) }) else { return }
        print(
            "Rotated the token of device '\(id)'; the old token no longer works, and a node running on this data "
                + "directory closes the connections made with it within a second (MQTT 5: DISCONNECT 0x8C)."
        )
        print(deviceTokenText(device, token: token))
    }
}
