import NIOCore
import ReflexCore

/// Publishes the broker's state as retained messages under `$SYS/broker/` (the names follow
/// mosquitto's where one exists, so existing dashboards work). Runs on the core's event loop.
struct SystemTopicsPublisher: Sendable {
    let core: BrokerCore

    func publish() {
        let stats = core.statistics
        let uptime = (core.eventLoop.now - core.startedAt).nanoseconds / 1_000_000_000
        let offlineSessions = core.sessions.values.reduce(0) { $0 + ($1.connection == nil ? 1 : 0) }
        var values: [(String, String)] = [
            ("$SYS/broker/version", "reflex \(ReflexVersion.current)"),
            ("$SYS/broker/uptime", "\(uptime) seconds"),
            ("$SYS/broker/clients/connected", "\(core.connectedClients)"),
            ("$SYS/broker/clients/disconnected", "\(offlineSessions)"),
            ("$SYS/broker/clients/total", "\(core.sessions.count)"),
            ("$SYS/broker/connections/open", "\(core.openConnections)"),
            ("$SYS/broker/connections/accepted", "\(stats.connectionsAccepted)"),
            ("$SYS/broker/connections/refused", "\(stats.connectionsRefused)"),
            ("$SYS/broker/messages/received", "\(stats.messagesReceived)"),
            ("$SYS/broker/messages/sent", "\(stats.messagesSent)"),
            ("$SYS/broker/publish/messages/received", "\(stats.publishReceived)"),
            ("$SYS/broker/publish/messages/sent", "\(stats.publishSent)"),
            ("$SYS/broker/publish/messages/dropped", "\(stats.droppedQoS0 + stats.droppedReliable)"),
            ("$SYS/broker/publish/messages/dropped/qos0", "\(stats.droppedQoS0)"),
            ("$SYS/broker/publish/messages/dropped/qos12", "\(stats.droppedReliable)"),
            ("$SYS/broker/publish/messages/expired", "\(stats.expiredMessages)"),
            ("$SYS/broker/publish/messages/oversize", "\(stats.oversizeDropped)"),
            ("$SYS/broker/bytes/received", "\(stats.bytesReceived)"),
            ("$SYS/broker/bytes/sent", "\(stats.bytesSent)"),
            ("$SYS/broker/clients/slow_disconnects", "\(stats.slowClientDisconnects)"),
            ("$SYS/broker/clients/keepalive_timeouts", "\(stats.keepAliveTimeouts)"),
            ("$SYS/broker/packets/malformed", "\(stats.malformedPackets)"),
            ("$SYS/broker/packets/protocol_errors", "\(stats.protocolErrors)"),
            ("$SYS/broker/publish/unauthorized", "\(stats.unauthorizedPublishes)"),
            ("$SYS/broker/subscriptions/count", "\(core.subscriptions.count)"),
            ("$SYS/broker/retained messages/count", "\(core.retained.count)"),
            ("$SYS/broker/retained messages/bytes", "\(core.retainedQuota.total.bytes)"),
            ("$SYS/broker/retained messages/refused_quota", "\(stats.retainedQuotaRefusals)"),
            ("$SYS/broker/connections/refused/session_owner", "\(stats.sessionOwnerRefusals)"),
            ("$SYS/broker/subscriptions/dropped_on_restore", "\(stats.droppedRestoredSubscriptions)"),
            ("$SYS/broker/clients/revoked", "\(stats.revokedDisconnects)"),
            ("$SYS/broker/clients/dropped", droppedByClient()),
        ]
        if let journal = core.journal {
            // Durable writes of sessions and retained messages (see BrokerCore+Durability).
            values += [
                ("$SYS/broker/store/commits", "\(journal.commits)"),
                ("$SYS/broker/store/failed_commits", "\(journal.failedCommits)"),
                ("$SYS/broker/store/changes_written", "\(journal.changesWritten)"),
            ]
        }
        for (topic, value) in values {
            core.publishSystem(topic: topic, value: value)
        }
    }

    /// A JSON object of the (at most 100) clients that lost the most messages to full queues:
    /// `{"client": {"dropped": n, "droppedQoS12": n, "slowDisconnects": n}}`.
    private func droppedByClient() -> String {
        let worst = core.sessions.values
            .filter { $0.droppedMessages > 0 || $0.slowDisconnects > 0 }
            .sorted { $0.droppedMessages > $1.droppedMessages }
            .prefix(100)
        let entries = worst.map { session in
            "\(jsonString(session.clientID)):{\"dropped\":\(session.droppedMessages),\"droppedQoS12\":\(session.droppedReliableMessages),\"slowDisconnects\":\(session.slowDisconnects)}"
        }
        return "{" + entries.joined(separator: ",") + "}"
    }

    private func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
