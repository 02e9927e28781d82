import ArgumentParser
import ReflexServer

/// `reflex version`: what this binary is.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the Reflex version, the Swift version it was built with and the platform."
    )

    func run() {
        print("reflex \(BuildInfo.version)")
        print("Swift \(BuildInfo.swiftVersion)")
        print("Platform \(BuildInfo.platform)")
    }
}
