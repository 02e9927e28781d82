/// The version of this Reflex build, reported by `reflex version` and in `$SYS/broker/version`.
public enum ReflexVersion {
    /// Semantic version of the package.
    public static let current = "0.1.0"
}
