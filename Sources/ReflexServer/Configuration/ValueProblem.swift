import ReflexNode

/// Why a setting's text could not be parsed: what was expected, and an optional hint on how to
/// fix it. The loader adds the key, the source and the offending text.
package struct ValueProblem: Error, Sendable, Equatable {
    /// Completes "expected ...": "a whole number of bytes between 64 and 268435455".
    package var expected: String
    /// A suggestion, e.g. "write IPv6 addresses in brackets: [::1]:1883".
    package var hint: String?

    package init(expected: String, hint: String? = nil) {
        self.expected = expected
        self.hint = hint
    }
}
