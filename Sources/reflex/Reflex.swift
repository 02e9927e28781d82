import ArgumentParser

/// The `reflex` command. Run without a subcommand it prints help.
@main
struct Reflex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reflex",
        abstract: "Reflex turns device telemetry into safe, explainable action.",
        discussion: """
            One binary: an MQTT broker for your devices today; ingest, storage, detection and \
            automation as they arrive. Start a node with `reflex serve`; register devices with \
            `reflex device add`.
            """,
        subcommands: [
            Serve.self, DeviceCommand.self, TokenCommand.self, QueryCommand.self, AlarmCommand.self, CommandCLI.self,
            OverrideCommand.self, AutonomyCommand.self, RulesCommand.self, Simulate.self, Eval.self, Bench.self,
            Version.self,
        ]
    )
}
