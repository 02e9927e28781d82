/// A registry operation that cannot be done, with what, where and what to do about it.
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable code for callers to switch on; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable {
            case deviceExists, deviceNotFound, operatorTokenNotFound, invalidArgument, storage
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// `addDevice` with an id that is already registered.
        public static let deviceExists = Code(.deviceExists)
        /// No device has the given id.
        public static let deviceNotFound = Code(.deviceNotFound)
        /// No operator token has the given id.
        public static let operatorTokenNotFound = Code(.operatorTokenNotFound)
        /// A name, type or label that cannot be stored.
        public static let invalidArgument = Code(.invalidArgument)
        /// The database could not be opened, migrated, read or written.
        public static let storage = Code(.storage)

        public var description: String { "\(value)" }
    }

    public var code: Code
    /// What is wrong, where, and what to do about it.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
