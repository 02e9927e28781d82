import ReflexCore
import ReflexNode

/// What this binary is: Reflex version, compiler, platform. For `reflex version` and startup logs.
public enum BuildInfo {
    /// The Reflex version (``ReflexCore/ReflexVersion/current``).
    public static var version: String { ReflexVersion.current }

    /// The Swift compiler this binary was built with, to the precision the compiler lets us ask.
    public static var swiftVersion: String {
        #if compiler(>=6.4)
        "6.4 or later"
        #elseif compiler(>=6.3.1)
        "6.3.1"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #else
        "6.1 or earlier"
        #endif
    }

    /// Operating system and CPU architecture, e.g. `Linux x86_64`.
    public static var platform: String {
        #if os(Linux)
        let system = "Linux"
        #elseif os(macOS)
        let system = "macOS"
        #elseif os(Windows)
        let system = "Windows"
        #else
        let system = "unknown OS"
        #endif
        #if arch(x86_64)
        let architecture = "x86_64"
        #elseif arch(arm64)
        let architecture = "arm64"
        #else
        let architecture = "unknown architecture"
        #endif
        return "\(system) \(architecture)"
    }
}
