/// A token of the expression language, with its character offset.
struct ExpressionToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case number(Double)
        case duration(milliseconds: Int64)
        case identifier(String)
        case symbol(String)
        case end
    }

    var kind: Kind
    var offset: Int
}

/// Splits expression text into tokens: numbers, durations (`30s`), identifiers (metric names,
/// keywords, functions) and the symbols `( ) , + - * / < <= > >= == !=`.
enum ExpressionLexer {
    static func tokens(_ text: String) throws(ExpressionError) -> [ExpressionToken] {
        let chars = Array(text)
        var out: [ExpressionToken] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\n" {
                i += 1
                continue
            }
            let start = i
            if c.isASCII, c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
                while i < chars.count, chars[i].isASCII, chars[i].isNumber || chars[i] == "." { i += 1 }
                let digits = String(chars[start..<i])
                var unitEnd = i
                while unitEnd < chars.count, chars[unitEnd].isASCII, chars[unitEnd].isLetter { unitEnd += 1 }
                let unit = String(chars[i..<unitEnd])
                guard let value = Double(digits) else {
                    throw ExpressionError(offset: start, "'\(digits)' is not a number")
                }
                if unit.isEmpty {
                    out.append(.init(kind: .number(value), offset: start))
                } else if let factor = DurationText.factor(unit) {
                    out.append(.init(kind: .duration(milliseconds: Int64((value * factor).rounded())), offset: start))
                    i = unitEnd
                } else {
                    throw ExpressionError(
                        offset: i,
                        "'\(digits)\(unit)': unknown unit '\(unit)'; durations use ms, s, m, h or d (e.g. 30s)"
                    )
                }
                continue
            }
            if c.isLetter || c == "_" {
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "." {
                    i += 1
                }
                out.append(.init(kind: .identifier(String(chars[start..<i])), offset: start))
                continue
            }
            let two = i + 1 < chars.count ? String(chars[i...(i + 1)]) : ""
            switch two {
            case "<=", ">=", "==", "!=":
                out.append(.init(kind: .symbol(two), offset: start))
                i += 2
                continue
            case "&&": throw ExpressionError(offset: start, "'&&' is not an operator; write 'and'")
            case "||": throw ExpressionError(offset: start, "'||' is not an operator; write 'or'")
            default: break
            }
            switch c {
            case "(", ")", ",", "+", "-", "*", "/", "<", ">":
                out.append(.init(kind: .symbol(String(c)), offset: start))
                i += 1
            case "=": throw ExpressionError(offset: start, "'=' is not a comparison; write '==' for equality")
            case "!": throw ExpressionError(offset: start, "'!' is not an operator; write 'not'")
            default: throw ExpressionError(offset: start, "unexpected character '\(c)'")
            }
        }
        out.append(.init(kind: .end, offset: chars.count))
        return out
    }
}
