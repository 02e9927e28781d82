import Foundation
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``SessionStore`` that keeps one JSON snapshot of all persistent sessions in a file, and
/// one of the retained messages in a sibling file (`retained.json` in the same directory).
///
/// The file holds `{"formatVersion": 1, "savedAt": "<ISO 8601>", "sessions": [...]}`; dates
/// inside sessions are seconds since 2001-01-01 (Foundation's reference date) so they round-trip
/// exactly, payloads are base64.
///
/// Saving is atomic: the snapshot is written to a temporary file in the same directory, flushed
/// to disk (`fsync`), renamed over the old file, and the directory is flushed, so a crash leaves
/// either the old or the new snapshot, never a mix. Missing directories are created. Saves may
/// run concurrently (each uses its own temporary file; the last rename wins). File I/O runs on
/// NIO's blocking thread pool, not on the caller's executor.
///
/// Loading a missing file gives no sessions (first start); loading also removes temporary
/// files that a crash during a save left behind. A file that cannot be read as a
/// snapshot is an error naming the file: move it away to start without persisted sessions.
public struct FileSessionStore: SessionStore {
    /// The snapshot format this build writes and reads.
    public static let formatVersion = 1

    /// The snapshot file.
    public let path: String
    /// Names the temporary file for one save; tests replace it to provoke a failed write.
    let temporaryFileName: @Sendable (_ snapshotName: String) -> String

    /// - Parameter path: the snapshot file, e.g. `<dataDirectory>/mqtt/sessions.json`. Its
    ///   directory is created on the first save.
    public init(path: String) {
        self.init(path: path) { ".\($0).\(String(UInt64.random(in: .min ... .max), radix: 16)).tmp" }
    }

    init(path: String, temporaryFileName: @escaping @Sendable (_ snapshotName: String) -> String) {
        self.path = path
        self.temporaryFileName = temporaryFileName
    }

    /// The retained-message snapshot file, beside ``path``.
    public var retainedPath: String {
        ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("retained.json")
    }

    /// Reads the snapshot; no file means no sessions.
    /// - Throws: ``FileSessionStoreError`` when the file is unreadable, corrupt or from a newer format.
    public func loadSessions() async throws -> [PersistedSession] {
        let path = self.path
        return try await NIOThreadPool.singleton.runIfActive { try Self.read(Snapshot.self, path: path).sessions }
    }

    /// Replaces the snapshot atomically with `sessions`.
    /// - Throws: ``FileSessionStoreError`` naming the system call and file that failed; the previous
    ///   snapshot is then still in place.
    public func saveSessions(_ sessions: [PersistedSession]) async throws {
        try await save(Snapshot(formatVersion: Self.formatVersion, savedAt: Date(), sessions: sessions), to: path)
    }

    /// Reads the retained messages; no file means none.
    public func loadRetainedMessages() async throws -> [PersistedMessage] {
        let path = retainedPath
        return try await NIOThreadPool.singleton.runIfActive {
            try Self.read(RetainedSnapshot.self, path: path).messages
        }
    }

    /// Replaces the retained-message snapshot atomically.
    public func saveRetainedMessages(_ messages: [PersistedMessage]) async throws {
        try await save(
            RetainedSnapshot(formatVersion: Self.formatVersion, savedAt: Date(), messages: messages),
            to: retainedPath
        )
    }

    private func save(_ snapshot: some Encodable, to path: String) async throws {
        let data: Data
        do {
            data = try Self.encoder.encode(snapshot)
        } catch {
            throw FileSessionStoreError(path: path, message: "cannot encode the snapshot: \(error)")
        }
        let temporaryName = temporaryFileName((path as NSString).lastPathComponent)
        try await NIOThreadPool.singleton.runIfActive {
            try Self.writeAtomically(data, to: path, temporaryName: temporaryName)
        }
    }

    // MARK: - File format

    fileprivate struct Snapshot: Codable {
        var formatVersion: Int
        var savedAt: Date
        var sessions: [PersistedSession]
    }

    fileprivate struct RetainedSnapshot: Codable {
        var formatVersion: Int
        var savedAt: Date
        var messages: [PersistedMessage]
    }

    private struct Header: Decodable {
        var formatVersion: Int?
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .deferredToDate
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .deferredToDate
        return decoder
    }

    // MARK: - Blocking I/O (runs on the thread pool)

    private static func read<S: Decodable & EmptySnapshot>(_ type: S.Type, path: String) throws -> S {
        removeStaleTemporaryFiles(of: path)
        guard FileManager.default.fileExists(atPath: path) else { return S.empty }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw FileSessionStoreError(path: path, message: "cannot read the session snapshot: \(error)")
        }
        func corrupt(_ detail: String) -> FileSessionStoreError {
            FileSessionStoreError(
                path: path,
                message: "the session snapshot is corrupt (\(detail)); to start without persisted sessions, "
                    + "move it away (mv '\(path)' '\(path).corrupt') and restart"
            )
        }
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            throw corrupt("not a JSON object")
        }
        guard let version = header.formatVersion else { throw corrupt("no formatVersion") }
        guard version <= formatVersion else {
            throw FileSessionStoreError(
                path: path,
                message: "the session snapshot has format version \(version), but this build reads up to "
                    + "\(formatVersion); run a newer Reflex, or move the file away to start without persisted sessions"
            )
        }
        do {
            return try decoder.decode(S.self, from: data)
        } catch {
            throw corrupt("\(error)")
        }
    }

    /// Removes `.<name>.*.tmp` files that a crash during a save left behind. Loading happens once,
    /// before the broker saves anything, so none of them belongs to a save in progress.
    private static func removeStaleTemporaryFiles(of path: String) {
        let name = (path as NSString).lastPathComponent
        let directory = (path as NSString).deletingLastPathComponent
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        for entry in entries where entry.hasPrefix(".\(name).") && entry.hasSuffix(".tmp") {
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(entry))
        }
    }

    private static func writeAtomically(_ data: Data, to path: String, temporaryName: String) throws {
        let directory =
            (path as NSString).deletingLastPathComponent.isEmpty
            ? "." : (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FileSessionStoreError(path: path, message: "cannot create the directory '\(directory)': \(error)")
        }
        let temporaryPath = (directory as NSString).appendingPathComponent(temporaryName)
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw FileSessionStoreError(path: path, systemCall: "open", file: temporaryPath, errno: errno)
        }
        var renamed = false
        defer { if !renamed { unlink(temporaryPath) } }
        do {
            defer { close(descriptor) }
            try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) throws in
                guard let base = buffer.baseAddress else { return }
                var offset = 0
                while offset < buffer.count {
                    let written = write(descriptor, base + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw FileSessionStoreError(path: path, systemCall: "write", file: temporaryPath, errno: errno)
                    }
                    offset += written
                }
            }
            guard fsync(descriptor) == 0 else {
                throw FileSessionStoreError(path: path, systemCall: "fsync", file: temporaryPath, errno: errno)
            }
        }
        guard rename(temporaryPath, path) == 0 else {
            throw FileSessionStoreError(path: path, systemCall: "rename", file: temporaryPath, errno: errno)
        }
        renamed = true
        // Make the rename itself durable.
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}

/// A snapshot type with a value for "no file yet".
private protocol EmptySnapshot {
    static var empty: Self { get }
}

extension FileSessionStore.Snapshot: EmptySnapshot {
    static var empty: Self { Self(formatVersion: FileSessionStore.formatVersion, savedAt: Date(), sessions: []) }
}

extension FileSessionStore.RetainedSnapshot: EmptySnapshot {
    static var empty: Self { Self(formatVersion: FileSessionStore.formatVersion, savedAt: Date(), messages: []) }
}

/// A session snapshot that could not be read or written; the message names the file and what to do.
public struct FileSessionStoreError: Error, Sendable, CustomStringConvertible {
    /// The snapshot file.
    public var path: String
    /// What went wrong, and how to recover where there is a way.
    public var message: String

    /// - Parameters:
    ///   - path: the snapshot file.
    ///   - message: what went wrong and how to recover.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    init(path: String, systemCall: String, file: String, errno code: Int32) {
        self.init(
            path: path,
            message:
                "cannot save the session snapshot: \(systemCall) '\(file)' failed: \(String(cString: strerror(code)))"
        )
    }

    /// "session store '<path>': <message>".
    public var description: String { "session store '\(path)': \(message)" }
}
