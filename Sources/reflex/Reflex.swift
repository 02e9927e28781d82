import ArgumentParser

/// The `reflex` command. Run without a subcommand it prints help.
@main
struct Reflex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reflex",
        abstract: "Reflex turns device telemetry into safe, explainable action.",
        discussion: """
            One binary: the MQTT broker for your devices, durable ingest and storage, live anomaly \
            detection, rules with a safety layer, and the web dashboard. See the whole loop with \
            `reflex serve --demo`; for real devices start `reflex serve` and register them with \
            `reflex device add`.
            """,
        subcommands: [
            Serve.self, DeviceCommand.self, TokenCommand.self, QueryCommand.self, AlarmCommand.self, CommandCLI.self,
            OverrideCommand.self, AutonomyCommand.self, RulesCommand.self, Simulate.self, Eval.self, Bench.self,
            Version.self,
        ]
    )
}
