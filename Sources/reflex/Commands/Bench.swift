import ArgumentParser

/// `reflex bench ...`: benchmarks of Reflex's own components. Each benchmark is a subcommand;
/// add new ones to `subcommands`.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the cost of Reflex components on this machine.",
        subcommands: [BenchDetect.self, BenchAutonomy.self]
    )
}
