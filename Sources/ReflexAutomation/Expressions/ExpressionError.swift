/// Why an expression did not parse or type-check, with the character offset of the problem.
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The offset in characters from the start of the expression text.
    public var offset: Int
    /// What is wrong and how to fix it.
    public var message: String

    public init(offset: Int, _ message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "at character \(offset + 1): \(message)" }
}
