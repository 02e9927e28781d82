extension Command {
    enum CodingKeys: String, CodingKey {
        case id, device, name, params, state, origin, createdAt, updatedAt, expiresAt, attempts, idempotencyKey, detail
        case history, verifyWhen, verifyWithin, verifyDeadline, nextAttemptAt, ackDeadline
    }

    /// Encodes every key, with `null` for absent values (the API contract's shape).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(device, forKey: .device)
        try c.encode(name, forKey: .name)
        try c.encode(params, forKey: .params)
        try c.encode(state, forKey: .state)
        try c.encode(origin, forKey: .origin)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(expiresAt, forKey: .expiresAt)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(idempotencyKey, forKey: .idempotencyKey)
        try c.encode(detail, forKey: .detail)
        try c.encode(history, forKey: .history)
        try c.encode(verifyWhen, forKey: .verifyWhen)
        try c.encode(verifyWithin, forKey: .verifyWithin)
        try c.encode(verifyDeadline, forKey: .verifyDeadline)
        try c.encode(nextAttemptAt, forKey: .nextAttemptAt)
        try c.encode(ackDeadline, forKey: .ackDeadline)
    }
}

extension CommandHistoryEntry {
    enum CodingKeys: String, CodingKey { case at, state, detail }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(at, forKey: .at)
        try c.encode(state, forKey: .state)
        try c.encode(detail, forKey: .detail)
    }
}
