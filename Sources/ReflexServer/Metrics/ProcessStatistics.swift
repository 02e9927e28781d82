import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The process figures of `/metrics`, read from Linux's `/proc` at scrape time (each nil where
/// `/proc` is not there, as on macOS). Reading costs a few small file reads.
struct ProcessStatistics: Sendable, Equatable {
    /// Resident set size in bytes (`/proc/self/statm`, second field, times the page size).
    var residentBytes: Int64?
    /// Virtual memory size in bytes (`/proc/self/statm`, first field).
    var virtualBytes: Int64?
    /// When the process started, in seconds since the Unix epoch (`/proc/self/stat` field 22,
    /// clock ticks after boot, plus `btime` of `/proc/stat`).
    var startTimeSeconds: Double?
    /// Entries of `/proc/self/fd`.
    var openFileDescriptors: Int?

    /// The figures now.
    static func current() -> ProcessStatistics {
        var figures = ProcessStatistics()
        #if os(Linux)
        let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let statm = read("/proc/self/statm") {
            let fields = parseStatm(statm)
            figures.virtualBytes = fields.map { $0.size * pageSize }
            figures.residentBytes = fields.map { $0.resident * pageSize }
        }
        if let stat = read("/proc/self/stat"), let all = read("/proc/stat"),
            let ticks = startTicks(fromStat: stat), let boot = bootTime(fromProcStat: all), ticksPerSecond > 0
        {
            figures.startTimeSeconds = Double(boot) + Double(ticks) / ticksPerSecond
        }
        figures.openFileDescriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count
        #endif
        return figures
    }

    /// The first two fields of `/proc/self/statm`: total and resident pages.
    static func parseStatm(_ text: String) -> (size: Int64, resident: Int64)? {
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let size = Int64(fields[0]), let resident = Int64(fields[1]) else { return nil }
        return (size, resident)
    }

    /// Field 22 (`starttime`) of `/proc/self/stat`. The command name (field 2) is in parentheses
    /// and may hold spaces, so fields are counted after its closing parenthesis.
    static func startTicks(fromStat text: String) -> Int64? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let rest = text[text.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state); field 22 is rest[19].
        guard rest.count > 19 else { return nil }
        return Int64(rest[19])
    }

    /// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
    static func bootTime(fromProcStat text: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Int64(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    private static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
