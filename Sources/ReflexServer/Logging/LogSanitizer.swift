import ReflexNode

/// Makes client-supplied text safe to write in a log line or on a terminal: control characters
/// are escaped and values that look like tokens are redacted.
///
/// A client id `"x\n2026-12-07T01:00:00+0000 critical reflex: ..."` would otherwise forge a log
/// line, and ESC or BEL sequences would drive the operator's terminal. Escaped are the C0
/// controls (`\n`, `\r` and `\t` as such, the others as `\u{1B}`), DEL, the C1 controls
/// (U+0080–U+009F, of which U+009B is a one-byte CSI), the line and paragraph separators
/// U+2028/U+2029, and the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069),
/// which reorder what a reader sees. Everything else, other non-ASCII text included, is kept.
///
/// Tokens (`rfx_dev_…`, `rfx_op_…`) are never logged: a token that reaches a log line anyway
/// (a client that swapped user name and password) keeps its prefix and loses the rest,
/// `rfx_dev_<redacted>`.
///
/// - Complexity: O(n) in the text's length; text that needs no change is returned as is after
///   one scan.
package enum LogSanitizer {
    /// The prefixes of Reflex tokens (device and operator).
    static let tokenPrefixes = ["rfx_dev_", "rfx_op_"]
    /// What replaces the secret part of a token.
    static let redacted = "<redacted>"

    /// `text` with control characters escaped and tokens redacted.
    package static func sanitized(_ text: String) -> String {
        redactingTokens(escapingControls(text))
    }

    /// `text` with the characters listed in the type's summary escaped.
    package static func escapingControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                result.append(scalar)
                continue
            }
            let escape: String =
                switch scalar {
                case "\n": "\\n"
                case "\r": "\\r"
                case "\t": "\\t"
                default: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                }
            result.append(contentsOf: escape.unicodeScalars)
        }
        return String(result)
    }

    /// Whether `scalar` is escaped by ``escapingControls(_:)``.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// `text` with the secret part of every `rfx_dev_…`/`rfx_op_…` token replaced by
    /// `<redacted>`: the characters after the prefix that a token may contain (letters, digits,
    /// `-` and `_`).
    package static func redactingTokens(_ text: String) -> String {
        guard tokenPrefixes.contains(where: { text.contains($0) }) else { return text }
        var result = ""
        var rest = Substring(text)
        while let match = firstPrefix(in: rest) {
            result += rest[..<match.upperBound]
            var end = match.upperBound
            while end < rest.endIndex, isTokenCharacter(rest[end]) { end = rest.index(after: end) }
            if end > match.upperBound { result += redacted }
            rest = rest[end...]
        }
        return result + rest
    }

    private static func firstPrefix(in text: Substring) -> Range<Substring.Index>? {
        tokenPrefixes.compactMap { text.firstRange(of: $0) }.min { $0.lowerBound < $1.lowerBound }
    }

    private static func isTokenCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "-" || character == "_")
    }
}
