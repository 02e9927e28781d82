/// The MQTT broker's tables on PostgreSQL, as ordered ``PostgresMigration`` steps: the same
/// tables and columns as in `samples.sqlite` (`SampleSchema`), with BYTEA for the broker's
/// opaque metadata and payloads and BIGINT milliseconds for `saved_at`.
public enum PostgresBrokerStateSchema {
    /// The broker state's steps, in order. Applied steps are never edited; add one at the end.
    public static let migrations: [PostgresMigration] = [
        PostgresMigration(
            "broker v1: documents, retained messages, sessions",
            [
                """
                CREATE TABLE broker_state (
                    key TEXT PRIMARY KEY,
                    value BYTEA NOT NULL,
                    saved_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE retained_messages (
                    topic TEXT PRIMARY KEY,
                    metadata BYTEA NOT NULL,
                    payload BYTEA NOT NULL,
                    saved_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE mqtt_sessions (
                    client_id TEXT PRIMARY KEY,
                    metadata BYTEA NOT NULL,
                    saved_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE mqtt_session_messages (
                    client_id TEXT NOT NULL,
                    seq BIGINT NOT NULL,
                    phase TEXT NOT NULL,
                    packet_id BIGINT,
                    metadata BYTEA NOT NULL,
                    payload BYTEA NOT NULL,
                    saved_at BIGINT NOT NULL,
                    PRIMARY KEY (client_id, seq)
                )
                """,
            ]
        )
    ]
}
