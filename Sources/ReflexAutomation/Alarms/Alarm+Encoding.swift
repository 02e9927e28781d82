extension Alarm {
    enum CodingKeys: String, CodingKey {
        case id, device, type, severity, state, shelvedUntil, raisedAt, acknowledgedAt, acknowledgedBy, clearedAt, rule
        case message, flapping, notes, history
    }

    /// Encodes every key, with `null` for absent values (the API contract's shape).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(device, forKey: .device)
        try c.encode(type, forKey: .type)
        try c.encode(severity, forKey: .severity)
        try c.encode(state, forKey: .state)
        try c.encode(shelvedUntil, forKey: .shelvedUntil)
        try c.encode(raisedAt, forKey: .raisedAt)
        try c.encode(acknowledgedAt, forKey: .acknowledgedAt)
        try c.encode(acknowledgedBy, forKey: .acknowledgedBy)
        try c.encode(clearedAt, forKey: .clearedAt)
        try c.encode(rule, forKey: .rule)
        try c.encode(message, forKey: .message)
        try c.encode(flapping, forKey: .flapping)
        try c.encode(notes, forKey: .notes)
        try c.encode(history, forKey: .history)
    }
}

extension AlarmHistoryEntry {
    enum CodingKeys: String, CodingKey { case at, state, by, detail }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(at, forKey: .at)
        try c.encode(state, forKey: .state)
        try c.encode(by, forKey: .by)
        try c.encode(detail, forKey: .detail)
    }
}
