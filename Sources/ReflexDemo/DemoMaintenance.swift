import Foundation
import Logging
import ReflexAutomation
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexSimulator
import ServiceLifecycle

/// The demo's maintenance crew, so that the demo runs indefinitely: a device that failed, was
/// stopped, or carries a mitigated physical fault for ``repairAfter`` is put in manual (an
/// override, audited), repaired in the simulator, sent back to its normal operating point by
/// operator commands, and released to autonomy a little later.
struct DemoMaintenance: Service {
    let fleet: SimulatedFleet
    let automation: AutomationService
    let repairAfter: Duration
    let logger: Logger
    static let actor = "demo-maintenance"

    func run() async throws {
        var since: [String: ContinuousClock.Instant] = [:]
        var releaseAt: [String: ContinuousClock.Instant] = [:]
        var serviced: Set<Int> = []
        let clock = ContinuousClock()
        while !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(for: .seconds(5)) }
            } catch {
                return
            }
            let now = clock.now
            let simulation = fleet.snapshot
            let mitigated = Set(
                fleet.faultLog.filter { entry in
                    guard entry.record.kind.isPhysical, !serviced.contains(entry.record.id) else { return false }
                    if case .mitigated = entry.record.outcome { return true }
                    return false
                }.map(\.record.deviceID)
            )
            for device in simulation.devices {
                let needsCrew = device.failure != nil || !device.isRunning || mitigated.contains(device.id)
                guard needsCrew else {
                    since[device.id] = nil
                    continue
                }
                let first = since[device.id] ?? now
                since[device.id] = first
                guard now - first >= repairAfter, releaseAt[device.id] == nil else { continue }
                await service(device)
                for entry in fleet.faultLog where entry.record.deviceID == device.id {
                    serviced.insert(entry.record.id)
                }
                since[device.id] = nil
                releaseAt[device.id] = now + .seconds(30)
            }
            for (id, at) in releaseAt where now >= at {
                releaseAt[id] = nil
                guard let deviceID = try? DeviceID(validating: id) else { continue }
                automation.releaseOverride(device: deviceID, by: Self.actor)
            }
        }
    }

    /// Manual, repair, back to the normal operating point.
    private func service(_ device: VirtualDevice) async {
        guard let id = try? DeviceID(validating: device.id) else { return }
        let reason =
            device.failure.map { "maintenance crew: repairing after a \($0) failure" }
            ?? "maintenance crew: servicing (bearing, condenser) and restoring the normal operating point"
        _ = automation.setOverride(device: id, reason: reason, for: 120_000, by: Self.actor)
        do {
            try fleet.repair(device.id)
        } catch {
            logger.warning("Demo repair failed", metadata: ["device.id": "\(device.id)", "error": "\(error)"])
            return
        }
        let commands: [(String, [String: JSONValue])] =
            device.kind == .pump
            ? [("set_speed", ["rpm": .number(2400)]), ("start", [:])]
            : [("set_load", ["percent": .number(70)]), ("start", [:])]
        for (name, params) in commands {
            do {
                _ = try await automation.sendCommand(
                    device: id,
                    name: name,
                    params: params,
                    ttl: 60_000,
                    idempotencyKey: nil,
                    by: Self.actor
                )
            } catch {
                logger.warning(
                    "Demo maintenance command failed",
                    metadata: ["device.id": "\(id)", "error": "\(error)"]
                )
            }
        }
        logger.notice("Demo maintenance serviced a device", metadata: ["device.id": "\(id)"])
    }
}
