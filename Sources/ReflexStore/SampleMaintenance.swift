public import ReflexCore

/// The housekeeping side of a sample store: what the node needs besides writes and queries.
///
/// Implementations: ``SQLiteSampleStore``; a PostgreSQL one.
public protocol SampleMaintenance: Sendable {
    /// Where the samples are kept, for messages: a file path or a redacted database URL.
    var location: String { get }
    /// Deletes what is older than each resolution's retention horizon, in small transactions
    /// so that the group-commit writer never waits long.
    /// - Parameter now: the wall-clock time in ms since the epoch (from the node's clock).
    /// - Returns: what was deleted.
    @discardableResult
    func applyRetention(now: Int64) async throws -> RetentionReport
    /// Every series the store holds (committed), from memory; ``SeriesAdmission`` starts from it.
    func seriesKeys() -> [SeriesKey]
}

extension SQLiteSampleStore: SampleMaintenance {}
