/// The PostgreSQL schema of every store, as ordered migrations (see ``PostgresMigration``).
///
/// Each store keeps its own steps beside its code; a step's name says whose it is. A new step
/// goes at the end of its store's list; applied steps are never edited.
public enum PostgresSchema {
    /// Every step, in the order a new database gets them.
    public static var migrations: [PostgresMigration] {
        PostgresSampleSchema.migrations + PostgresBrokerStateSchema.migrations + PostgresRegistrySchema.migrations
            + PostgresAutomationSchema.migrations
    }
}
