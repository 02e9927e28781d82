import DequeModule
import Logging
import NIOCore

/// A PUBACK or PUBREC that may have to wait for work (a storage commit) before it is sent.
struct PendingAck {
    enum Kind {
        case puback
        case pubrec
    }
    let kind: Kind
    let packetID: UInt16
    /// nil while the work is still running.
    var reason: ReasonCode?
}

extension MQTTConnectionHandler {
    /// Sends an acknowledgement now, or queues it behind deferred ones so acknowledgements keep
    /// the order of the PUBLISHes.
    func acknowledge(_ kind: PendingAck.Kind, packetID: UInt16, reason: ReasonCode) {
        if pendingAcks.isEmpty {
            sendAck(kind, packetID: packetID, reason: reason)
        } else {
            pendingAcks.append(PendingAck(kind: kind, packetID: packetID, reason: reason))
        }
    }

    /// Queues an acknowledgement that is sent when `future` completes (see
    /// ``PublishDisposition/acceptAfter(_:)``).
    func acknowledgeLater(_ kind: PendingAck.Kind, packetID: UInt16, when future: EventLoopFuture<ReasonCode>) {
        let limit = version == .v5 ? core.configuration.maxInflight : Int(UInt16.max)
        guard pendingAcks.count < limit else {
            closeWithReason(.receiveMaximumExceeded, reasonString: "more than \(limit) unacknowledged publishes")
            return
        }
        let sequence = pendingAckBase + pendingAcks.count
        pendingAcks.append(PendingAck(kind: kind, packetID: packetID, reason: nil))
        future.hop(to: core.eventLoop).whenComplete { [self] result in
            guard state == .connected else { return }
            let index = sequence - pendingAckBase
            guard index >= 0, index < pendingAcks.count else { return }
            switch result {
            case .success(let reason):
                pendingAcks[index].reason = reason
            case .failure:
                pendingAcks[index].reason = .unspecifiedError
            }
            sendCompletedAcks()
            core.flushAll()
        }
    }

    /// Sends the acknowledgements at the head of the queue whose work is done.
    private func sendCompletedAcks() {
        while let head = pendingAcks.first, let reason = head.reason {
            pendingAcks.removeFirst()
            pendingAckBase += 1
            if reason.isFailure && version == .v311 {
                // 3.1.1 cannot refuse a message: close without acknowledging, the client resends.
                log.warning(
                    "Closing connection: a publish could not be processed",
                    metadata: ["mqtt.reason": "\(reason)"]
                )
                closeNow()
                return
            }
            if reason.isFailure, head.kind == .pubrec {
                session?.incomingQoS2.remove(head.packetID)
            }
            sendAck(head.kind, packetID: head.packetID, reason: reason)
        }
    }

    private func sendAck(_ kind: PendingAck.Kind, packetID: UInt16, reason: ReasonCode) {
        switch kind {
        case .puback: send(.puback(PublishAck(packetID: packetID, reasonCode: reason)))
        case .pubrec: send(.pubrec(PublishAck(packetID: packetID, reasonCode: reason)))
        }
    }
}
