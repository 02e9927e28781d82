extension AuditEntry {
    enum CodingKeys: String, CodingKey {
        case id, at, device, rule, ruleVersion, decision, summary, inputs, interlocks, action, outcome, actor
    }

    /// Encodes every key, with `null` for absent values (the API contract's shape).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(at, forKey: .at)
        try c.encode(device, forKey: .device)
        try c.encode(rule, forKey: .rule)
        try c.encode(ruleVersion, forKey: .ruleVersion)
        try c.encode(decision, forKey: .decision)
        try c.encode(summary, forKey: .summary)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(interlocks, forKey: .interlocks)
        try c.encode(action, forKey: .action)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(actor, forKey: .actor)
    }
}
