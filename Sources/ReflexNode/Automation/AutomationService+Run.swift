import Foundation
import Logging
import ReflexAutomation
import ReflexCore
import ReflexStore
import ServiceLifecycle
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension AutomationService {
    /// Restores the persisted state, loads the rules, then runs until graceful shutdown.
    public func run() async throws {
        try await restore()
        await refreshDevices()
        try? FileManager.default.createDirectory(atPath: rulesDirectory, withIntermediateDirectories: true)
        for (file, text) in configuration.builtInRules.sorted(by: { $0.key < $1.key }) {
            for error in loadRules(text, file: file) {
                logger.warning("Built-in rule refused", metadata: ["rule.error": "\(error)"])
            }
        }
        var files: [String: FileStamp] = [:]
        await reloadRules(&files)
        logger.info(
            "Automation started",
            metadata: [
                "automation.rulesDirectory": "\(rulesDirectory)",
                "automation.rules": "\(snapshot.rules.count)",
                "automation.openAlarms": "\(snapshot.alarms.open.count)",
            ]
        )
        let initialFiles = files
        await withDiscardingTaskGroup { outer in
            // The writer is outside the cancelled loops: a database write cancelled half-way throws,
            // and the batch it carried would be lost. It ends once the stream is finished and
            // drained.
            outer.addTask { await self.persistChanges() }
            // Graceful shutdown cancels the loops; each ends quietly on cancellation.
            await cancelWhenGracefulShutdown {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.consumeTelemetry() }
                    group.addTask {
                        for await change in self.statuses {
                            await self.handle(.deviceStatus(change.device, online: change.isOnline))
                        }
                    }
                    group.addTask {
                        for await event in self.analytics { await self.handle(.analytics(event)) }
                    }
                    group.addTask {
                        for await received in self.acks {
                            await self.handle(.commandAck(received.device, name: received.name, received.ack))
                        }
                    }
                    group.addTask { await self.postWebhooks() }
                    group.addTask {
                        while !Task.isCancelled {
                            do { try await self.clock.sleep(for: self.configuration.tickInterval) } catch { return }
                            await self.handle(.tick)
                            self.heartbeat.beat(at: self.now())
                        }
                    }
                    group.addTask {
                        var files = initialFiles
                        var round = 0
                        while !Task.isCancelled {
                            do { try await self.clock.sleep(for: self.configuration.rulesPollInterval) } catch {
                                return
                            }
                            await self.reloadRules(&files)
                            round += 1
                            if round % 15 == 0 { await self.refreshDevices() }
                            if round % 1800 == 1 { await self.prune() }
                        }
                    }
                }
            }
            persist.continuation.finish()
        }
        logger.info("Automation stopped")
    }

    /// Applies the retention to the automation database.
    func prune() async {
        let keep = configuration.retention.components.seconds * 1000
        do {
            let removed = try await store.prune(before: now() - keep)
            if removed > 0 { logger.info("Pruned the audit log", metadata: ["audit.removed": "\(removed)"]) }
        } catch {
            logger.warning("Pruning the automation database failed", metadata: ["error": "\(error)"])
        }
    }

    func restore() async throws {
        let saved = try await store.load()
        let time = now()
        engine.withLock { engine in
            engine.restore(
                alarms: saved.alarms,
                commands: saved.commands,
                overrides: saved.overrides,
                autonomy: saved.autonomy,
                nextAuditID: saved.nextAuditID
            )
            for version in saved.ruleVersions {
                if let id = RuleID(validating: version.rule) {
                    engine.restoreVersion(id, version: version.version, text: version.text)
                }
            }
            for rule in saved.apiRules {
                guard let id = RuleID(validating: rule.rule) else { continue }
                do {
                    _ = try engine.putRule(id, text: rule.text, at: time)
                } catch {
                    logger.warning(
                        "A rule saved through the API no longer loads",
                        metadata: ["rule.id": "\(id)", "error": "\(error)"]
                    )
                }
            }
        }
    }

    func consumeTelemetry() async {
        for await committed in telemetry {
            let started = ContinuousClock.now
            let batch = committed.batch
            if snapshotDeviceUnknown(batch.device) { await learnDevice(batch.device) }
            let timing = DecisionTiming(
                enqueuedAt: committed.enqueuedAt,
                committedAt: committed.committedAt,
                receivedAt: started
            )
            await handle(.telemetry(batch), startedAt: started, timing: timing)
        }
    }

    private func snapshotDeviceUnknown(_ device: DeviceID) -> Bool {
        let known = engine.withLock { $0.deviceInfo(device) != nil }
        guard !known else { return false }
        let time = now()
        return unknownDevices.withLock { tried in
            if let last = tried[device], time - last < 10_000 { return false }
            tried[device] = time
            return true
        }
    }

    private func learnDevice(_ id: DeviceID) async {
        guard let devices, let device = try? await devices.device(id) else { return }
        let metrics = queries.map { Array($0.latest(device: id).keys.map(\.rawValue)) } ?? []
        engine.withLock {
            $0.setDevices([DeviceInfo(id: device.id, type: device.type, labels: device.labels)])
            $0.learnMetrics(metrics, type: device.type)
        }
    }

    func refreshDevices() async {
        guard let devices, let all = try? await devices.devices(type: nil, label: nil) else { return }
        let infos = all.map { DeviceInfo(id: $0.id, type: $0.type, labels: $0.labels) }
        var metricsByType: [String: Set<String>] = [:]
        if let queries {
            for device in all {
                metricsByType[device.type, default: []].formUnion(
                    queries.latest(device: device.id).keys.map(\.rawValue)
                )
            }
        }
        engine.withLock { engine in
            engine.setDevices(infos)
            for (type, metrics) in metricsByType { engine.learnMetrics(metrics, type: type) }
        }
    }

    /// Persists every change in decision order and announces it on ``NodeEvents/automation``.
    func persistChanges() async {
        for await batch in persist.stream {
            do {
                try await store.apply(batch)
            } catch {
                logger.error("Persisting automation changes failed", metadata: ["error": "\(error)"])
            }
            counters.record(batch)
            for action in batch {
                switch action {
                case .alarm(let a): events.automation.publish(.alarm(a))
                case .command(let c): events.automation.publish(.command(c))
                case .audit(let e): events.automation.publish(.audit(e))
                default: continue
                }
            }
        }
    }

    /// POSTs webhooks one by one with the configured timeout; a failure is audited.
    func postWebhooks() async {
        let timeout = configuration.webhookTimeout.components
        let seconds = Double(timeout.seconds) + Double(timeout.attoseconds) / 1e18
        for await action in webhooks.stream {
            guard case .webhook(let url, let body, let rule, let device) = action, let target = URL(string: url) else {
                continue
            }
            var request = URLRequest(url: target, timeoutInterval: seconds)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try? JSONEncoder().encode(body)
            var failure: String?
            do {
                let (_, response) = try await URLSession.shared.data(for: request)
                if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                    failure = "HTTP \(http.statusCode)"
                }
            } catch {
                failure = "\(error.localizedDescription)"
            }
            guard let failure else { continue }
            logger.warning("Webhook failed", metadata: ["webhook.url": "\(url)", "error": "\(failure)"])
            _ = update { (engine: inout AutomationEngine, time: Int64) in
                (
                    (),
                    engine.recordAudit(
                        AuditEntry(
                            at: time,
                            device: device,
                            rule: rule,
                            ruleVersion: nil,
                            decision: .commandOutcome,
                            summary: "Webhook POST \(url) for \(device) failed: \(failure)",
                            action: .object(["webhook": .string(url)]),
                            outcome: "failed",
                            actor: "system"
                        )
                    )
                )
            }
        }
    }

    // MARK: - Rules directory

    struct FileStamp: Equatable {
        var modified: Date
        var size: Int
    }

    /// Loads changed, new and removed `*.yaml`/`*.yml` files of the rules directory.
    func reloadRules(_ files: inout [String: FileStamp]) async {
        let manager = FileManager.default
        let names = ((try? manager.contentsOfDirectory(atPath: rulesDirectory)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        let label = (rulesDirectory as NSString).lastPathComponent
        var seen: Set<String> = []
        for name in names {
            let path = (rulesDirectory as NSString).appendingPathComponent(name)
            guard let attributes = try? manager.attributesOfItem(atPath: path),
                let modified = attributes[.modificationDate] as? Date
            else { continue }
            let stamp = FileStamp(modified: modified, size: (attributes[.size] as? Int) ?? 0)
            seen.insert(name)
            guard files[name] != stamp else { continue }
            files[name] = stamp
            guard let data = manager.contents(atPath: path) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            let file = "\(label)/\(name)"
            let (errors, _) = update { (engine: inout AutomationEngine, time: Int64) in
                engine.loadFile(file, text: text, at: time)
            }
            ruleFileErrors.withLock { $0[file] = errors }
            for error in errors {
                logger.warning("Rule refused", metadata: ["rule.error": "\(error)"])
            }
            logger.info("Loaded rules file", metadata: ["rules.file": "\(file)", "rules.errors": "\(errors.count)"])
        }
        for name in files.keys where !seen.contains(name) {
            files[name] = nil
            let file = "\(label)/\(name)"
            _ = update { (engine: inout AutomationEngine, _: Int64) in ((), engine.removeFile(file)) }
            ruleFileErrors.withLock { $0[file] = nil }
            logger.info("Removed rules file", metadata: ["rules.file": "\(file)"])
        }
    }
}
