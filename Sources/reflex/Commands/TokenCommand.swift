import ArgumentParser
import Foundation
import ReflexStore

/// `reflex token ...`: manage operator tokens in the data directory.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke operator tokens (roles viewer, operator, admin).",
        discussion: """
            Operators and services will use these tokens for the HTTP API (coming with the query API). An admin token works as an \
            MQTT password (with any user name, by convention operator:<name>) and may then publish and \
            subscribe anywhere. Tokens are shown once, when created; only a salted hash is kept.

            At its first start `reflex serve` creates an admin token named initial-admin and prints \
            it once, if no admin token exists.

            Examples:
              reflex token create --role viewer --name grafana
              reflex token list
              reflex token revoke 2
            """,
        subcommands: [TokenCreate.self, TokenList.self, TokenRevoke.self]
    )
}

struct TokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an operator token and print it (once)."
    )

    @OptionGroup var options: RegistryOptions
    @Option(help: ArgumentHelp("viewer, operator or admin.", valueName: "role"))
    var role: String
    @Option(help: ArgumentHelp("Who or what the token is for, e.g. alice or grafana.", valueName: "name"))
    var name: String

    func validate() throws {
        guard OperatorRole(rawValue: role.lowercased()) != nil else {
            throw ValidationError("--role '\(role)' is not a role; use viewer, operator or admin")
        }
    }

    func run() async throws {
        let role = OperatorRole(rawValue: role.lowercased()) ?? .viewer
        let registry = try await options.openRegistry()
        let (record, token) = try await reportingErrors {
            try await registry.createOperatorToken(name: name, role: role)
        }
        print(
            """
            Created operator token \(record.id) '\(record.name)' with role \(record.role.rawValue).
            Store it now; it cannot be shown again:

                \(token)

            Revoke it with `reflex token revoke \(record.id)`.

            """
        )
    }
}

struct TokenList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List operator tokens (never their secrets)."
    )

    @OptionGroup var options: RegistryOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        let registry = try await options.openRegistry()
        let tokens = try await reportingErrors { try await registry.operatorTokens() }
        if json {
            print(String(decoding: try jsonEncoder().encode(tokens), as: UTF8.self))
            return
        }
        if tokens.isEmpty {
            print("No operator tokens yet; create one with `reflex token create --role admin --name NAME`.")
            return
        }
        let rows = tokens.map { token in
            [
                "\(token.id)", token.name, token.role.rawValue, formatDate(token.createdAt),
                token.isRevoked ? "revoked" : "active",
            ]
        }
        print(table(["ID", "NAME", "ROLE", "CREATED", "STATUS"], rows))
    }
}

struct TokenRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke an operator token; it stops working at once, open connections and streams included."
    )

    @OptionGroup var options: RegistryOptions
    @Argument(help: "The token's id, from `reflex token list`.") var id: Int64

    func run() async throws {
        let registry = try await options.openRegistry()
        try await reportingErrors { try await registry.revokeOperatorToken(id: id) }
        print(
            "Revoked operator token \(id): it is refused from now on, and a node running on this data directory "
                + "closes the MQTT connections and live event streams opened with it within a second."
        )
    }
}
