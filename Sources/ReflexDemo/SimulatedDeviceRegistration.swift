import ReflexCore
import ReflexNode
import ReflexServer
public import ReflexSimulator
public import ReflexStore

/// Registers simulated devices in a node's registry so that they connect with real credentials.
public enum SimulatedDeviceRegistration {
    /// What ``register(_:in:)`` did.
    public struct Result: Sendable {
        /// Device id → its new token (never print or log these).
        public var tokens: [String: String]
        /// How many devices were new (the others got a fresh token and were enabled).
        public var added: Int
    }

    /// Adds the planned devices that are missing (type, labels, `simulated=true`) and gives the
    /// existing ones a fresh token (and enables them). Safe while a node runs on the same registry.
    /// - Throws: a registry error, or a message naming a device id the registry refuses.
    public static func register(
        _ plan: [PlannedDevice],
        in registry: any DeviceDirectory & DeviceRegistryManagement
    ) async throws -> Result {
        var tokens: [String: String] = [:]
        var added = 0
        for device in plan {
            let id = try DeviceID(validating: device.id)
            if try await registry.device(id) != nil {
                tokens[device.id] = try await registry.rotateToken(id)
                try await registry.setEnabled(id, true)
            } else {
                tokens[device.id] = try await registry.addDevice(
                    id: id,
                    name: nil,
                    type: device.kind.rawValue,
                    labels: device.labels.merging(["simulated": "true"]) { first, _ in first }
                ).token
                added += 1
            }
        }
        return Result(tokens: tokens, added: added)
    }
}
