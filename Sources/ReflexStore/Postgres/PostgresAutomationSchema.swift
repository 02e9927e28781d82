/// Automation state on PostgreSQL, as ordered ``PostgresMigration`` steps: the tables of
/// `automation.sqlite` (`SQLiteAutomationStore`). Values stay the JSON text their owner
/// encoded (TEXT, not JSONB, so that what is read back is byte for byte what was written); times
/// are BIGINT milliseconds since 1970.
public enum PostgresAutomationSchema {
    /// The automation store's steps, in order. Applied steps are never edited; add one at the end.
    public static let migrations: [PostgresMigration] = [
        PostgresMigration(
            "automation v1: alarms, commands, audit, overrides, settings, rules",
            [
                """
                CREATE TABLE alarms (
                    id TEXT PRIMARY KEY, device TEXT NOT NULL, state TEXT NOT NULL,
                    raised_at BIGINT NOT NULL, json TEXT NOT NULL
                )
                """,
                "CREATE INDEX alarms_device ON alarms (device, raised_at)",
                """
                CREATE TABLE commands (
                    id TEXT PRIMARY KEY, device TEXT NOT NULL, state TEXT NOT NULL,
                    created_at BIGINT NOT NULL, json TEXT NOT NULL
                )
                """,
                "CREATE INDEX commands_device ON commands (device, created_at)",
                "CREATE TABLE audit (id BIGINT PRIMARY KEY, at BIGINT NOT NULL, device TEXT, rule TEXT, json TEXT NOT NULL)",
                "CREATE INDEX audit_device ON audit (device, id)",
                "CREATE INDEX audit_rule ON audit (rule, id)",
                "CREATE TABLE overrides (device TEXT PRIMARY KEY, json TEXT NOT NULL)",
                "CREATE TABLE settings (key TEXT PRIMARY KEY, json TEXT NOT NULL)",
                """
                CREATE TABLE rule_versions (
                    rule TEXT NOT NULL, version BIGINT NOT NULL, source TEXT NOT NULL,
                    text TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (rule, version)
                )
                """,
                "CREATE TABLE api_rules (rule TEXT PRIMARY KEY, text TEXT NOT NULL)",
            ]
        )
    ]
}
