import ReflexStore
import Testing

@Suite("StoreLocation: the store setting")
struct StoreLocationTests {
    @Test(
        "sqlite, empty and the default spelling are the embedded store",
        arguments: ["sqlite", "SQLite", "", "  sqlite "]
    )
    func sqlite(text: String) throws {
        #expect(try StoreLocation.parse(text) == .sqlite)
    }

    @Test("a full postgres URL: user, percent-decoded password, host, port, database, sslmode")
    func fullURL() throws {
        let location = try StoreLocation.parse(
            "postgresql://reflex:p%40ss%3Aword@db.plant.local:6432/telemetry?sslmode=require"
        )
        guard case .postgres(let settings) = location else {
            Issue.record("expected postgres, got \(location)")
            return
        }
        #expect(settings.host == "db.plant.local")
        #expect(settings.port == 6432)
        #expect(settings.user == "reflex")
        #expect(settings.password == "p@ss:word")
        #expect(settings.database == "telemetry")
        #expect(settings.tls == .require)
    }

    @Test("the port defaults to 5432 and TLS to off; a password is optional")
    func defaults() throws {
        guard case .postgres(let settings) = try StoreLocation.parse("postgres://reflex@localhost/reflex") else {
            Issue.record("expected postgres")
            return
        }
        #expect(settings.port == 5432)
        #expect(settings.tls == .disable)
        #expect(settings.password == nil)
    }

    @Test("the description never shows the password")
    func redaction() throws {
        let location = try StoreLocation.parse("postgres://reflex:s3cret@localhost:5432/reflex")
        #expect(location.description == "postgres://reflex:***@localhost:5432/reflex")
        #expect(!"\(location)".contains("s3cret"))
        #expect(StoreLocation.redacted("postgres://u:s3cret@h/db") == "postgres://u:***@h/db")
        #expect(StoreLocation.redacted("mysql://u:s3cret@h/db") == "mysql://u:***@h/db")
    }

    @Test(
        "bad settings are refused with what is wrong",
        arguments: [
            ("mysql://u:p@h/db", "scheme 'mysql'"),
            ("postgres://u:p@/db", "no host"),
            ("postgres://h/db", "no user"),
            ("postgres://u:p@h", "no database"),
            ("postgres://u:p@h/db?sslmode=verify-full", "sslmode 'verify-full'"),
            ("postgres://u:p@h/db?timeout=3", "'timeout'"),
            ("files", "neither `sqlite` nor a postgres:// URL"),
        ]
    )
    func refused(text: String, expected: String) {
        #expect {
            try StoreLocation.parse(text)
        } throws: { error in
            let message = "\(error)"
            return message.contains(expected) && !message.contains(":p@")
        }
    }
}
