public import Foundation

/// Where the MQTT broker keeps what must survive a crash: persistent sessions with their queued
/// and in-flight messages, and retained messages ("PUBACK means durable" for both).
///
/// Every write is one durable transaction: when it returns, all of it survives a crash; when it
/// throws, none of it was applied. The broker sends the acknowledgements waiting for a write
/// only after it returns.
///
/// Implementations: ``SQLiteSampleStore`` (tables in `samples.sqlite`), ``PostgresBrokerStateStore``.
public protocol BrokerStateStore: Sendable {
    /// Where the state is kept, for messages: a file path or a redacted database URL.
    var location: String { get }
    /// A command an operator can run to delete unreadable rows, for error messages
    /// (`sqlite3 'path' "DELETE FROM table WHERE condition"`, or the `psql` equivalent).
    /// - Parameter condition: an SQL condition whose text values are already quoted.
    func deletionHint(table: String, where condition: String) -> String

    /// Reads a whole document saved with ``saveBrokerState(_:for:)`` (the legacy one-document
    /// form), or nil.
    func loadBrokerState(for key: String) async throws -> Data?
    /// Replaces a document in one durable transaction.
    func saveBrokerState(_ value: Data, for key: String) async throws

    /// Every stored retained message, in topic order.
    func loadRetainedRows() async throws -> [BrokerStateWrite.RetainedRow]
    /// Writes retained changes in one durable transaction: each upsert inserts or replaces the
    /// row of its topic, each deletion removes one; other rows are not touched.
    /// - Parameters:
    ///   - replacingAll: first delete every row (a full replacement).
    ///   - removingDocument: a document key deleted in the same transaction (the legacy form
    ///     being migrated to rows).
    func applyRetainedChanges(
        upserts: [BrokerStateWrite.RetainedRow],
        deletions: [String],
        replacingAll: Bool,
        removingDocument: String?
    ) async throws

    /// Every stored session record, in client id order.
    func loadSessionRows() async throws -> [BrokerStateWrite.SessionRow]
    /// Every stored session message, by client id and then sequence (delivery order).
    func loadSessionMessageRows() async throws -> [BrokerStateWrite.SessionMessageRow]
    /// Applies session writes in order and retained changes, all in one durable transaction.
    /// - Parameter removingDocument: a document key deleted in the same transaction.
    func applyBrokerState(
        _ writes: [BrokerStateWrite],
        retainedUpserts: [BrokerStateWrite.RetainedRow],
        retainedDeletions: [String],
        removingDocument: String?
    ) async throws
}
