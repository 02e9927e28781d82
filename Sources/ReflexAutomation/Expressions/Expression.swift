/// A parsed rule expression: a condition (`temperature > 85 for 30s or anomaly(vibration) > 0.9`)
/// or a numeric formula (`max(speed * 0.7, 900)`).
///
/// Built by ``ExpressionParser``; evaluated by ``ExpressionEvaluator`` against an
/// ``EvaluationContext``. Each `for` node carries a slot number so that the evaluator can keep
/// "true since" per slot without hashing the tree.
public indirect enum Expression: Sendable, Hashable {
    case number(Double)
    case boolean(Bool)
    /// The latest value of a metric of the device.
    case metric(String)
    /// Whether the device is online.
    case online
    case not(Expression)
    case negate(Expression)
    case arithmetic(ArithmeticOperator, Expression, Expression)
    case comparison(ComparisonOperator, Expression, Expression)
    case and(Expression, Expression)
    case or(Expression, Expression)
    /// `condition for 30s`: true once `condition` has held continuously for the duration.
    case sustained(Expression, milliseconds: Int64, slot: Int)
    /// `min(a, b, ...)`, `max(a, b, ...)`, `abs(a)` over numbers.
    case function(NumericFunction, [Expression])
    /// `anomaly(metric)`: the latest anomaly score of the metric, in [0, 1].
    case anomaly(String)
    /// `quality(metric)`: true while a data-quality problem is active on the metric.
    case quality(String)
    /// `stale(metric)`: true while the metric is silent or stuck (silence or flatline events).
    case stale(String)
    /// `alarm(type)`: true while an alarm of that type is open on the device.
    case alarm(String)
    /// `rate(metric, 1m)`: change per second over the window (last minus first, over their time span).
    case rate(String, milliseconds: Int64)
    /// `avg/min/max(metric, 5m)`: an aggregate of the window.
    case window(WindowAggregate, String, milliseconds: Int64)
}

public enum ArithmeticOperator: String, Sendable, Hashable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
}

public enum ComparisonOperator: String, Sendable, Hashable {
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case equal = "=="
    case notEqual = "!="
}

public enum NumericFunction: String, Sendable, Hashable {
    case min, max, abs
}

public enum WindowAggregate: String, Sendable, Hashable {
    case avg, min, max
}

/// The type of an expression, checked before a rule is accepted.
public enum ExpressionType: String, Sendable, Hashable {
    case number, boolean
}

extension Expression {
    /// Every metric the expression reads (latest values, windows, rates, anomaly and quality).
    public var metrics: Set<String> {
        var out: Set<String> = []
        visit { node in
            switch node {
            case .metric(let m), .anomaly(let m), .quality(let m), .stale(let m), .rate(let m, _),
                .window(_, let m, _):
                out.insert(m)
            default: break
            }
        }
        return out
    }

    /// The metrics whose anomaly score the expression reads with `anomaly(metric)`.
    public var anomalyMetrics: Set<String> {
        var out: Set<String> = []
        visit { node in
            if case .anomaly(let m) = node { out.insert(m) }
        }
        return out
    }

    /// The metrics whose windows the expression reads, with the longest window per metric.
    public var windows: [String: Int64] {
        var out: [String: Int64] = [:]
        visit { node in
            switch node {
            case .rate(let m, let ms), .window(_, let m, let ms): out[m] = max(out[m] ?? 0, ms)
            default: break
            }
        }
        return out
    }

    /// The alarm types the expression reads with `alarm(type)`.
    public var alarmTypes: Set<String> {
        var out: Set<String> = []
        visit { if case .alarm(let type) = $0 { out.insert(type) } }
        return out
    }

    /// Whether the expression contains a `for` duration (and so must be re-evaluated on ticks).
    public var hasDuration: Bool {
        var found = false
        visit { if case .sustained = $0 { found = true } }
        return found
    }

    /// Whether the expression reads `online`.
    public var readsStatus: Bool {
        var found = false
        visit { if case .online = $0 { found = true } }
        return found
    }

    /// Calls `body` on this node and every node below it.
    public func visit(_ body: (Expression) -> Void) {
        body(self)
        switch self {
        case .number, .boolean, .metric, .online, .anomaly, .quality, .stale, .alarm, .rate, .window: break
        case .not(let e), .negate(let e), .sustained(let e, _, _): e.visit(body)
        case .arithmetic(_, let a, let b), .comparison(_, let a, let b), .and(let a, let b), .or(let a, let b):
            a.visit(body)
            b.visit(body)
        case .function(_, let args): for arg in args { arg.visit(body) }
        }
    }

    /// The static type: comparisons, `and`/`or`/`not`, `for`, `quality`, `stale`, `alarm`, `online`
    /// and booleans are boolean; everything else is a number.
    public var type: ExpressionType {
        switch self {
        case .boolean, .online, .not, .comparison, .and, .or, .sustained, .quality, .stale, .alarm: .boolean
        case .number, .metric, .negate, .arithmetic, .function, .anomaly, .rate, .window: .number
        }
    }

    /// Whether the expression is a constant number (no input read).
    public var isConstant: Bool {
        switch self {
        case .number: true
        case .negate(let e): e.isConstant
        case .arithmetic(_, let a, let b): a.isConstant && b.isConstant
        case .function(_, let args): args.allSatisfy(\.isConstant)
        default: false
        }
    }
}
