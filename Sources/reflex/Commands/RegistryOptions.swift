import ArgumentParser
import Foundation
import ReflexCore
import ReflexServer
import ReflexStore

/// The `--data-dir` and `--store` options shared by `reflex device ...`, `reflex token ...`,
/// `reflex query ...` and `reflex simulate`: they open the node's store directly (the same
/// setting as `reflex serve`), which is safe while `reflex serve` runs on it (SQLite in WAL
/// mode, or PostgreSQL; the server notices the changes).
struct RegistryOptions: ParsableArguments {
    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(
            "The node's data directory, as given to `reflex serve` (env REFLEX_DATA_DIR; default: ./reflex-data).",
            valueName: "directory"
        )
    )
    var dataDirectory: String?

    @Option(
        name: .customLong("store"),
        help: ArgumentHelp(
            "The node's store, as given to `reflex serve`: sqlite or postgres://USER:PASSWORD@HOST:PORT/DATABASE (env REFLEX_STORE; default: sqlite).",
            valueName: "backend"
        )
    )
    var store: String?

    /// `--store`, else `REFLEX_STORE`, else sqlite; exits with status 2 when it does not parse.
    func resolvedStore() throws -> StoreLocation {
        let text = store ?? ProcessInfo.processInfo.environment["REFLEX_STORE"] ?? "sqlite"
        do {
            return try StoreLocation.parse(text)
        } catch {
            FileHandle.standardError.write(
                Data("reflex: store '\(StoreLocation.redacted(text))': \(error.message)\n".utf8)
            )
            throw ExitCode(2)
        }
    }

    /// `--data-dir`, else `REFLEX_DATA_DIR`, else the default of `reflex serve`.
    var resolvedDataDirectory: String {
        if let dataDirectory { return dataDirectory }
        if let variable = ProcessInfo.processInfo.environment["REFLEX_DATA_DIR"], !variable.isEmpty { return variable }
        return NodeConfiguration.defaultDataDirectory
    }

    /// Opens the registry, or prints why not and exits with status 1.
    func openRegistry() async throws -> any RegistryStore {
        // The registry holds token hashes: a data directory this command creates is the owner's
        // only (0700, files 0600), as `reflex serve` makes it.
        PrivateDataDirectory.restrictUmask()
        let location = try resolvedStore()
        do {
            return try await StoreBackend.openRegistry(location, directory: resolvedDataDirectory)
        } catch {
            throw fail(error)
        }
    }
}

/// Prints `reflex: <error>` to standard error and returns the exit code to throw (1).
func fail(_ error: any Error) -> ExitCode {
    fail("\(error)")
}

/// Prints `reflex: <message>` to standard error and returns the exit code to throw (1).
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("reflex: \(message)\n".utf8))
    return ExitCode(1)
}

/// Runs `body`, turning registry errors into a message on standard error and exit status 1.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        throw fail(error)
    }
}

/// Parses a device id argument, or fails with a usage error naming the rule it broke.
func parseDeviceID(_ text: String) throws -> DeviceID {
    do {
        return try DeviceID(validating: text)
    } catch {
        throw ValidationError("\(error)")
    }
}

/// Parses `key=value` labels.
func parseLabel(_ text: String) throws -> (key: String, value: String) {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
        throw ValidationError("label '\(text)' is not key=value; write e.g. --label site=plant-1")
    }
    return (String(text[..<equals]), String(text[text.index(after: equals)...]))
}

/// Dates as `2025-11-26T08:20:00Z`.
func formatDate(_ date: Date?) -> String {
    guard let date else { return "-" }
    return date.formatted(.iso8601)
}

/// Renders rows as a left-aligned text table with a header; cells are made ``terminalSafe(_:)``.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let rows = rows.map { $0.map(terminalSafe) }
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count {
            widths[index] = max(widths[index], cell.count)
        }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

/// A JSON encoder for `--json` output: sorted keys, pretty, ISO 8601 dates.
func jsonEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return encoder
}
