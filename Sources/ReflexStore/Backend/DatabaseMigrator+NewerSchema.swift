import GRDB

extension DatabaseMigrator {
    /// Applies the missing migrations, as `migrate(_:)` does, but first refuses a database that
    /// holds a migration this build does not know: it was written by a newer Reflex, whose
    /// schema this build would misread. GRDB alone applies the rest and carries on. The
    /// PostgreSQL stores refuse the same way (``PostgresMigrator``), with the same words.
    /// - Throws: ``MigrationError`` naming the unknown migration, or GRDB's error.
    func migrateRefusingNewer(_ writer: some DatabaseWriter) throws {
        let known = Set(migrations)
        let applied = try writer.read { try appliedIdentifiers($0) }
        if let unknown = applied.subtracting(known).sorted().first {
            throw MigrationError(
                "the database holds the migration '\(unknown)', which this build does not know: it was written by a newer Reflex"
            )
        }
        try migrate(writer)
    }
}
