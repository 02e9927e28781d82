import Foundation

/// Where a node keeps its data, from the `store` setting (`--store`, `REFLEX_STORE`, YAML `store:`).
///
/// - `sqlite` (the default): embedded SQLite files in the data directory.
/// - `postgres://USER:PASSWORD@HOST[:PORT]/DATABASE[?sslmode=disable|require]` (or
///   `postgresql://`): a PostgreSQL server.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// SQLite files in the node's data directory.
    case sqlite
    /// A PostgreSQL database.
    case postgres(PostgresConnectionSettings)

    /// Parses the setting's text.
    /// - Throws: ``StoreLocationError`` naming what is wrong and what is accepted.
    public static func parse(_ text: String) throws(StoreLocationError) -> StoreLocation {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.lowercased() == "sqlite" { return .sqlite }
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased() else {
            throw StoreLocationError("'\(redacted(trimmed))' is neither `sqlite` nor a postgres:// URL")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw StoreLocationError("the scheme '\(scheme)' is not supported: use `sqlite` or postgres://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreLocationError("the URL has no host: write postgres://USER:PASSWORD@HOST:5432/DATABASE")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StoreLocationError("the URL has no user name: write postgres://USER:PASSWORD@\(host)/DATABASE")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreLocationError("the URL names no database: write postgres://\(user)@\(host)/DATABASE")
        }
        var tls = PostgresConnectionSettings.TLSMode.disable
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): tls = .disable
            case ("sslmode", "require"): tls = .require
            case ("sslmode", let other):
                throw StoreLocationError("sslmode '\(other)' is not supported: use disable or require")
            case (let name, _):
                throw StoreLocationError("the URL parameter '\(name)' is not supported (only sslmode)")
            }
        }
        return .postgres(
            PostgresConnectionSettings(
                host: host,
                port: components.port ?? 5432,
                user: user.removingPercentEncoding ?? user,
                password: components.password.map { $0.removingPercentEncoding ?? $0 },
                database: database.removingPercentEncoding ?? database,
                tls: tls
            )
        )
    }

    /// `sqlite`, or the URL with its password replaced by `***`.
    public var description: String {
        switch self {
        case .sqlite: "sqlite"
        case .postgres(let settings): settings.description
        }
    }

    /// The text with a URL's password replaced by `***`, for messages about text that did not parse.
    public static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let schemeEnd = text.range(of: "://")?.upperBound,
            let colon = text[schemeEnd..<at].firstIndex(of: ":")
        else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }
}

/// How to reach a PostgreSQL database. Its description never shows the password.
public struct PostgresConnectionSettings: Sendable, Equatable, CustomStringConvertible {
    /// Whether the connection uses TLS.
    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP (a local server or a private network).
        case disable
        /// TLS, with the server's certificate verified against the system's trust roots.
        case require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int, user: String, password: String?, database: String, tls: TLSMode) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// `postgres://user:***@host:port/database`.
    public var description: String {
        let secret = password == nil ? "" : ":***"
        let mode = tls == .require ? "?sslmode=require" : ""
        return "postgres://\(user)\(secret)@\(host):\(port)/\(database)\(mode)"
    }
}

/// A `store` setting that does not parse.
public struct StoreLocationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, without the password.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
