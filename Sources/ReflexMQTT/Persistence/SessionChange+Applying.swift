extension [PersistedSession] {
    /// The sessions after `changes`, applied in order: the reference meaning of every
    /// ``SessionChange``, used by stores that keep sessions as one document.
    /// - Complexity: O(changes × sessions).
    public func applying(_ changes: [SessionChange]) -> [PersistedSession] {
        var sessions = self
        for change in changes {
            switch change {
            case .replaceAll(let all):
                sessions = all
            case .upsertSession(let session):
                if let index = sessions.firstIndex(where: { $0.clientID == session.clientID }) {
                    var updated = session
                    updated.messages = sessions[index].messages
                    sessions[index] = updated
                } else {
                    var added = session
                    added.messages = []
                    sessions.append(added)
                }
            case .removeSession(let clientID):
                sessions.removeAll { $0.clientID == clientID }
            case .appendMessage(let clientID, let message):
                guard let index = sessions.firstIndex(where: { $0.clientID == clientID }) else { continue }
                if let sequence = message.sequence,
                    let existing = sessions[index].messages.firstIndex(where: { $0.sequence == sequence })
                {
                    sessions[index].messages[existing] = message
                } else {
                    sessions[index].messages.append(message)
                }
            case .updateMessage(let clientID, let sequence, let phase, let packetID):
                guard let index = sessions.firstIndex(where: { $0.clientID == clientID }),
                    let message = sessions[index].messages.firstIndex(where: { $0.sequence == sequence })
                else { continue }
                sessions[index].messages[message].phase = phase
                sessions[index].messages[message].packetID = packetID
            case .removeMessage(let clientID, let sequence):
                guard let index = sessions.firstIndex(where: { $0.clientID == clientID }) else { continue }
                sessions[index].messages.removeAll { $0.sequence == sequence }
            }
        }
        return sessions
    }
}
