/// Evaluates expressions against an ``EvaluationContext``, keeping the state of `for` durations
/// and recording every input it read (for the audit log).
///
/// Missing data is never true: a comparison with a metric that has no value is false, and
/// arithmetic on a missing value is missing. Both sides of `and`/`or` are always evaluated so
/// that every `for` keeps an exact "true since".
/// - Complexity: O(nodes) per evaluation, plus the context's cost for windows.
public struct ExpressionEvaluator {
    /// When each `for` slot's condition became (and stayed) true.
    public var trueSince: [Int: Int64]
    /// Every input read by the last evaluations: "temperature" → 91.2, "anomaly(vibration)" → 0.95.
    public var inputs: [String: Double] = [:]
    /// Whether some `for` is true but has not lasted long enough yet (re-evaluate on ticks).
    public private(set) var isPending = false

    public init(trueSince: [Int: Int64] = [:]) {
        self.trueSince = trueSince
    }

    enum Value {
        case number(Double?)
        case boolean(Bool)

        var bool: Bool {
            if case .boolean(let b) = self { return b }
            return false
        }

        var number: Double? {
            if case .number(let n) = self { return n }
            return nil
        }
    }

    /// Evaluates a condition; false when it cannot be decided (missing data).
    public mutating func condition(_ expression: Expression, in context: some EvaluationContext) -> Bool {
        value(expression, context).bool
    }

    /// Evaluates a number; nil when an input is missing or the result is not finite.
    public mutating func number(_ expression: Expression, in context: some EvaluationContext) -> Double? {
        guard let n = value(expression, context).number, n.isFinite else { return nil }
        return n
    }

    private mutating func record(_ label: String, _ value: Double?) {
        if let value { inputs[label] = value }
    }

    mutating func value(_ e: Expression, _ c: some EvaluationContext) -> Value {
        switch e {
        case .number(let v): return .number(v)
        case .boolean(let b): return .boolean(b)
        case .metric(let m):
            let v = c.latest(m)
            record(m, v)
            return .number(v)
        case .online:
            record("online", c.isOnline ? 1 : 0)
            return .boolean(c.isOnline)
        case .not(let inner): return .boolean(!value(inner, c).bool)
        case .negate(let inner): return .number(value(inner, c).number.map { -$0 })
        case .arithmetic(let op, let a, let b):
            guard let x = value(a, c).number, let y = value(b, c).number else { return .number(nil) }
            switch op {
            case .add: return .number(x + y)
            case .subtract: return .number(x - y)
            case .multiply: return .number(x * y)
            case .divide: return .number(y == 0 ? nil : x / y)
            }
        case .comparison(let op, let a, let b):
            let left = value(a, c)
            let right = value(b, c)
            if case .boolean(let x) = left, case .boolean(let y) = right {
                return .boolean(op == .equal ? x == y : op == .notEqual ? x != y : false)
            }
            guard let x = left.number, let y = right.number else { return .boolean(false) }
            switch op {
            case .less: return .boolean(x < y)
            case .lessOrEqual: return .boolean(x <= y)
            case .greater: return .boolean(x > y)
            case .greaterOrEqual: return .boolean(x >= y)
            case .equal: return .boolean(x == y)
            case .notEqual: return .boolean(x != y)
            }
        case .and(let a, let b):
            let x = value(a, c).bool
            let y = value(b, c).bool
            return .boolean(x && y)
        case .or(let a, let b):
            let x = value(a, c).bool
            let y = value(b, c).bool
            return .boolean(x || y)
        case .sustained(let inner, let ms, let slot):
            guard value(inner, c).bool else {
                trueSince[slot] = nil
                return .boolean(false)
            }
            let since = trueSince[slot] ?? c.now
            trueSince[slot] = since
            let held = c.now - since >= ms
            if !held { isPending = true }
            return .boolean(held)
        case .function(let f, let args):
            var numbers: [Double] = []
            for arg in args {
                guard let n = value(arg, c).number else { return .number(nil) }
                numbers.append(n)
            }
            switch f {
            case .abs: return .number(numbers.first.map(Swift.abs))
            case .min: return .number(numbers.min())
            case .max: return .number(numbers.max())
            }
        case .anomaly(let m):
            let v = c.anomalyScore(m)
            record("anomaly(\(m))", v)
            return .number(v)
        case .quality(let m):
            let v = c.hasQualityProblem(m)
            record("quality(\(m))", v ? 1 : 0)
            return .boolean(v)
        case .stale(let m):
            let v = c.isStale(m)
            record("stale(\(m))", v ? 1 : 0)
            return .boolean(v)
        case .alarm(let type):
            let v = c.isAlarmOpen(type)
            record("alarm(\(type))", v ? 1 : 0)
            return .boolean(v)
        case .rate(let m, let ms):
            let v = c.rate(m, window: ms)
            record("rate(\(m), \(DurationText.format(ms)))", v)
            return .number(v)
        case .window(let kind, let m, let ms):
            let v = c.aggregate(kind, m, window: ms)
            record("\(kind.rawValue)(\(m), \(DurationText.format(ms)))", v)
            return .number(v)
        }
    }
}
