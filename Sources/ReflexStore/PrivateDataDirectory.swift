import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the node's data directory private to its user: the directory `0700`, its databases
/// (`*.sqlite` with their `-wal` and `-shm` files) and other state files `0600`.
///
/// They hold token hashes, device labels, telemetry and MQTT sessions; other local users have no
/// business reading them. New files get these modes from the process umask (``restrictUmask()``,
/// called first thing by `reflex serve` and by the CLI commands that open the registry); a
/// directory made by an older version, or by hand, is tightened by ``tighten(_:)`` at start.
public enum PrivateDataDirectory {
    /// The mode of the data directory.
    public static let directoryMode = 0o700
    /// The mode of files in it.
    public static let fileMode = 0o600

    /// Sets the process umask to `077`, so that every file and directory the process creates
    /// from now on is readable by its user only (SQLite creates `-wal`/`-shm` files later, on
    /// its own, so a umask is the one setting that covers them).
    public static func restrictUmask() {
        umask(0o077)
    }

    /// Removes group and other permissions from `directory` and from the files directly in it
    /// (databases, their WAL and shared-memory files, session snapshots) and in its `mqtt/`
    /// subdirectory; leaves symbolic links and a missing directory alone.
    /// - Returns: the paths whose mode changed, with the old mode, for the log.
    @discardableResult
    public static func tighten(_ directory: String) -> [(path: String, oldMode: Int)] {
        var changed: [(String, Int)] = []
        func restrict(_ path: String, to mode: Int, isDirectory: Bool) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return }
            let type = info.st_mode & S_IFMT
            guard isDirectory ? type == S_IFDIR : type == S_IFREG else { return }
            let old = info.st_mode & 0o7777
            let new = old & mode_t(mode)
            guard new != old, chmod(path, new) == 0 else { return }
            changed.append((path, Int(old)))
        }
        restrict(directory, to: directoryMode, isDirectory: true)
        for subdirectory in [directory, directory + "/mqtt"] {
            if subdirectory != directory { restrict(subdirectory, to: directoryMode, isDirectory: true) }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: subdirectory)) ?? []
            for name in names.sorted() {
                restrict(subdirectory + "/" + name, to: fileMode, isDirectory: false)
            }
        }
        return changed
    }
}
