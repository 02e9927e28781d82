import GRDB

/// The registry's schema, as GRDB migrations. Never edit a migration that has shipped; add one.
/// Times are INTEGER milliseconds since 1970 (UTC).
enum RegistryMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: devices") { db in
            try db.execute(
                sql: """
                    CREATE TABLE devices (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        type TEXT NOT NULL,
                        labels TEXT NOT NULL DEFAULT '{}',
                        enabled INTEGER NOT NULL DEFAULT 1,
                        created_at INTEGER NOT NULL,
                        token_salt BLOB NOT NULL,
                        token_hash BLOB NOT NULL,
                        token_rotated_at INTEGER
                    );
                    CREATE INDEX devices_type ON devices(type);
                    """
            )
        }
        migrator.registerMigration("v1: operator tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE operator_tokens (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
                        salt BLOB NOT NULL,
                        hash BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        revoked INTEGER NOT NULL DEFAULT 0
                    );
                    """
            )
        }
        migrator.registerMigration("v2: operator token lookup key") { db in
            // TokenHasher.lookupKey of the token; NULL for tokens made before this migration,
            // filled in the first time such a token is presented and accepted.
            try db.execute(sql: "ALTER TABLE operator_tokens ADD COLUMN lookup INTEGER")
        }
        return migrator
    }
}
