import ReflexNode

/// A configuration value that cannot be used, with the key, where it came from and how to fix it.
///
/// The ``message`` is meant for a person at a terminal, e.g.
/// `mqtt.maxPacketSize in /etc/reflex.yaml line 4: expected a whole number of bytes between 64 and
/// 268435455, got 'big'`.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The dotted YAML key the problem is about (`mqtt.maxPacketSize`), or nil for problems with
    /// the configuration file as a whole.
    public var key: String?
    /// What is wrong, where, and what to do about it.
    public var message: String

    /// - Parameters:
    ///   - key: the dotted key, if the problem is about one.
    ///   - message: the whole human-readable message.
    public init(key: String?, message: String) {
        self.key = key
        self.message = message
    }

    /// The ``message``, as printed by `reflex serve`.
    public var description: String { message }
}
