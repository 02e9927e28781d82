/// Parses and type-checks rule expressions.
///
/// Grammar (lowest precedence first):
/// ```
/// or      := and ('or' and)*
/// and     := not ('and' not)*
/// not     := 'not' not | for
/// for     := compare ('for' DURATION)?
/// compare := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?
/// sum     := product (('+' | '-') product)*
/// product := unary (('*' | '/') unary)*
/// unary   := '-' unary | primary
/// primary := NUMBER | 'true' | 'false' | 'online' | METRIC | CALL | '(' or ')'
/// CALL    := min(x, y, ...) | max(x, y, ...) | abs(x) | anomaly(m) | quality(m) | stale(m)
///          | alarm(type) | rate(m, DURATION) | avg(m, DURATION) | min(m, DURATION) | max(m, DURATION)
/// ```
/// Only words for logic (`and`, `or`, `not`), `==` for equality: `&&`, `=` and `!` are refused
/// with a hint, so a rule cannot be misread.
public struct ExpressionParser {
    private var tokens: [ExpressionToken]
    private var index = 0
    /// The next free slot for a `for` node.
    public private(set) var nextSlot: Int

    /// Parses `text` as an expression of type `expected`; `for` nodes get slots from `firstSlot` on.
    public static func parse(
        _ text: String,
        expecting expected: ExpressionType,
        firstSlot: Int = 0
    ) throws(ExpressionError) -> (expression: Expression, nextSlot: Int) {
        var parser = ExpressionParser(tokens: try ExpressionLexer.tokens(text), nextSlot: firstSlot)
        guard parser.tokens.count > 1 else { throw ExpressionError(offset: 0, "empty expression") }
        let expression = try parser.parseOr()
        guard case .end = parser.current.kind else {
            throw ExpressionError(
                offset: parser.current.offset,
                "unexpected \(parser.describe(parser.current)) after a complete expression"
            )
        }
        guard expression.type == expected else {
            throw ExpressionError(
                offset: 0,
                expected == .boolean
                    ? "this is a number, a condition is needed (e.g. 'temperature > 85')"
                    : "this is a condition, a number is needed (e.g. 'speed * 0.7')"
            )
        }
        return (expression, parser.nextSlot)
    }

    private init(tokens: [ExpressionToken], nextSlot: Int) {
        self.tokens = tokens
        self.nextSlot = nextSlot
    }

    private var current: ExpressionToken { tokens[min(index, tokens.count - 1)] }

    private mutating func advance() { index += 1 }

    private func isKeyword(_ word: String) -> Bool {
        if case .identifier(let name) = current.kind, name == word { return true }
        return false
    }

    private func isSymbol(_ symbol: String) -> Bool {
        if case .symbol(let s) = current.kind, s == symbol { return true }
        return false
    }

    private func describe(_ token: ExpressionToken) -> String {
        switch token.kind {
        case .number(let v): "number \(v)"
        case .duration(let ms): "duration \(DurationText.format(ms))"
        case .identifier(let name): "'\(name)'"
        case .symbol(let s): "'\(s)'"
        case .end: "end of expression"
        }
    }

    private func require(
        _ e: Expression,
        _ type: ExpressionType,
        at offset: Int,
        _ role: String
    ) throws(ExpressionError) {
        guard e.type == type else {
            throw ExpressionError(offset: offset, "\(role) needs a \(type == .boolean ? "condition" : "number")")
        }
    }

    private mutating func parseOr() throws(ExpressionError) -> Expression {
        var left = try parseAnd()
        while isKeyword("or") {
            let at = current.offset
            advance()
            let right = try parseAnd()
            try require(left, .boolean, at: at, "'or'")
            try require(right, .boolean, at: at, "'or'")
            left = .or(left, right)
        }
        return left
    }

    private mutating func parseAnd() throws(ExpressionError) -> Expression {
        var left = try parseNot()
        while isKeyword("and") {
            let at = current.offset
            advance()
            let right = try parseNot()
            try require(left, .boolean, at: at, "'and'")
            try require(right, .boolean, at: at, "'and'")
            left = .and(left, right)
        }
        return left
    }

    private mutating func parseNot() throws(ExpressionError) -> Expression {
        if isKeyword("not") {
            let at = current.offset
            advance()
            let operand = try parseNot()
            try require(operand, .boolean, at: at, "'not'")
            return .not(operand)
        }
        return try parseFor()
    }

    private mutating func parseFor() throws(ExpressionError) -> Expression {
        let condition = try parseCompare()
        guard isKeyword("for") else { return condition }
        let at = current.offset
        advance()
        guard case .duration(let ms) = current.kind else {
            throw ExpressionError(offset: current.offset, "'for' needs a duration such as 30s, 5m or 1h")
        }
        advance()
        try require(condition, .boolean, at: at, "'for'")
        let slot = nextSlot
        nextSlot += 1
        return .sustained(condition, milliseconds: ms, slot: slot)
    }

    private mutating func parseCompare() throws(ExpressionError) -> Expression {
        let left = try parseSum()
        guard case .symbol(let s) = current.kind, let op = ComparisonOperator(rawValue: s) else { return left }
        let at = current.offset
        advance()
        let right = try parseSum()
        if op == .equal || op == .notEqual {
            guard left.type == right.type else {
                throw ExpressionError(offset: at, "'\(s)' compares a number with a condition")
            }
        } else {
            try require(left, .number, at: at, "'\(s)'")
            try require(right, .number, at: at, "'\(s)'")
        }
        if case .symbol(let next) = current.kind, ComparisonOperator(rawValue: next) != nil {
            throw ExpressionError(
                offset: current.offset,
                "comparisons do not chain; write 'a < b and b < c'"
            )
        }
        return .comparison(op, left, right)
    }

    private mutating func parseSum() throws(ExpressionError) -> Expression {
        var left = try parseProduct()
        while case .symbol(let s) = current.kind, s == "+" || s == "-" {
            let at = current.offset
            advance()
            let right = try parseProduct()
            try require(left, .number, at: at, "'\(s)'")
            try require(right, .number, at: at, "'\(s)'")
            left = .arithmetic(s == "+" ? .add : .subtract, left, right)
        }
        return left
    }

    private mutating func parseProduct() throws(ExpressionError) -> Expression {
        var left = try parseUnary()
        while case .symbol(let s) = current.kind, s == "*" || s == "/" {
            let at = current.offset
            advance()
            let right = try parseUnary()
            try require(left, .number, at: at, "'\(s)'")
            try require(right, .number, at: at, "'\(s)'")
            left = .arithmetic(s == "*" ? .multiply : .divide, left, right)
        }
        return left
    }

    private mutating func parseUnary() throws(ExpressionError) -> Expression {
        if isSymbol("-") {
            let at = current.offset
            advance()
            let operand = try parseUnary()
            try require(operand, .number, at: at, "'-'")
            if case .number(let v) = operand { return .number(-v) }
            return .negate(operand)
        }
        return try parsePrimary()
    }

    private static let keywords: Set<String> = ["and", "or", "not", "for"]

    private mutating func parsePrimary() throws(ExpressionError) -> Expression {
        let token = current
        switch token.kind {
        case .number(let v):
            advance()
            return .number(v)
        case .duration(let ms):
            throw ExpressionError(
                offset: token.offset,
                "duration \(DurationText.format(ms)) is only allowed after 'for' or as a window, e.g. avg(temperature, 5m)"
            )
        case .symbol("("):
            advance()
            let inner = try parseOr()
            guard isSymbol(")") else { throw ExpressionError(offset: current.offset, "missing ')'") }
            advance()
            return inner
        case .identifier(let name):
            advance()
            if Self.keywords.contains(name) {
                throw ExpressionError(offset: token.offset, "'\(name)' needs something on its left")
            }
            if isSymbol("(") { return try parseCall(name, at: token.offset) }
            switch name {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            case "online": return .online
            default: return .metric(name)
            }
        case .symbol(let s):
            throw ExpressionError(offset: token.offset, "expected a number, a metric or '(' but found '\(s)'")
        case .end:
            throw ExpressionError(offset: token.offset, "the expression ends too early")
        }
    }

    private mutating func parseCall(_ name: String, at offset: Int) throws(ExpressionError) -> Expression {
        advance()  // (
        var args: [ExpressionToken] = []
        var parsed: [Expression] = []
        var durations: [Int64] = []
        if !isSymbol(")") {
            while true {
                args.append(current)
                if case .duration(let ms) = current.kind {
                    durations.append(ms)
                    advance()
                } else {
                    parsed.append(try parseOr())
                }
                if isSymbol(",") {
                    advance()
                    continue
                }
                guard isSymbol(")") else {
                    throw ExpressionError(offset: current.offset, "expected ',' or ')' in \(name)(...)")
                }
                break
            }
        }
        advance()  // )
        func metricArgument() throws(ExpressionError) -> String {
            guard parsed.count == 1, case .metric(let metric) = parsed[0] else {
                throw ExpressionError(offset: offset, "\(name)(...) takes a metric name, e.g. \(name)(temperature)")
            }
            return metric
        }
        switch name {
        case "anomaly", "quality", "stale":
            guard durations.isEmpty else { throw ExpressionError(offset: offset, "\(name)(...) takes no duration") }
            let metric = try metricArgument()
            return name == "anomaly" ? .anomaly(metric) : name == "quality" ? .quality(metric) : .stale(metric)
        case "alarm":
            guard durations.isEmpty, parsed.count == 1, case .metric(let type) = parsed[0] else {
                throw ExpressionError(offset: offset, "alarm(...) takes an alarm type, e.g. alarm(overheat)")
            }
            return .alarm(type)
        case "rate", "avg":
            guard durations.count == 1, parsed.count == 1 else {
                throw ExpressionError(
                    offset: offset,
                    "\(name)(...) takes a metric and a window, e.g. \(name)(temperature, 1m)"
                )
            }
            let metric = try metricArgument()
            guard durations[0] > 0 else { throw ExpressionError(offset: offset, "the window must be longer than 0") }
            return name == "rate"
                ? .rate(metric, milliseconds: durations[0]) : .window(.avg, metric, milliseconds: durations[0])
        case "min", "max", "abs":
            if !durations.isEmpty {
                guard name != "abs", durations.count == 1, parsed.count == 1 else {
                    throw ExpressionError(offset: offset, "\(name)(metric, window) takes one metric and one window")
                }
                let metric = try metricArgument()
                return .window(name == "min" ? .min : .max, metric, milliseconds: durations[0])
            }
            for arg in parsed where arg.type != .number {
                throw ExpressionError(offset: offset, "\(name)(...) takes numbers")
            }
            if name == "abs" {
                guard parsed.count == 1 else { throw ExpressionError(offset: offset, "abs(...) takes one number") }
                return .function(.abs, parsed)
            }
            guard parsed.count >= 2 else {
                throw ExpressionError(
                    offset: offset,
                    "\(name)(...) takes two or more numbers, or a metric and a window"
                )
            }
            return .function(name == "min" ? .min : .max, parsed)
        default:
            throw ExpressionError(
                offset: offset,
                "unknown function '\(name)'; known: min, max, abs, anomaly, quality, stale, alarm, rate, avg"
            )
        }
    }
}
