public import Foundation

/// A throwaway PostgreSQL cluster for tests: `initdb` in a temporary directory, a postmaster on
/// a free loopback port with password (SCRAM) authentication, stopped and deleted by ``stop()``.
///
/// Uses Debian's `postgresql` package (`/usr/lib/postgresql/VERSION/bin`, or `initdb` on PATH).
/// When run as root, the cluster runs as the `postgres` user, since PostgreSQL refuses root.
public final class TemporaryPostgres: @unchecked Sendable {
    /// Why a cluster could not be started.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }
    }

    /// The superuser's name and password.
    public static let user = "reflex"
    public static let password = "reflex-test-secret"

    public let directory: URL
    public let port: Int
    private let binaries: URL
    private let runAs: String?
    private let lock = NSLock()
    private var databaseCount = 0

    /// The cluster the tests of this process share, started on first use, stopped at exit.
    public static func shared() throws -> TemporaryPostgres {
        try sharedCluster.get()
    }

    private static let sharedCluster: Result<TemporaryPostgres, any Error> = Result {
        let cluster = try TemporaryPostgres()
        atexit { TemporaryPostgres.stopShared() }
        return cluster
    }

    private static func stopShared() {
        if case .success(let cluster) = sharedCluster { cluster.stop() }
    }

    /// Whether PostgreSQL's programs are installed here.
    public static var isInstalled: Bool { (try? findBinaries()) != nil }

    /// Creates and starts a cluster.
    /// - Throws: ``Unavailable`` naming the missing program or the failed step and its output.
    public init() throws {
        binaries = try Self.findBinaries()
        runAs = getuid() == 0 ? "postgres" : nil
        port = try Self.freePort()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent(
                "reflex-pg-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
            )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let passwordFile = directory.appendingPathComponent("password")
        try Self.password.write(to: passwordFile, atomically: true, encoding: .utf8)
        if let runAs {
            try run("/bin/chown", ["-R", runAs, directory.path], asUser: nil)
        }
        try run(
            binaries.appendingPathComponent("initdb").path,
            [
                "-D", dataDirectory, "-U", Self.user, "--pwfile=\(passwordFile.path)", "--auth=scram-sha-256",
                "-E", "UTF8", "--locale=C", "--no-sync",
            ]
        )
        try start()
    }

    private var dataDirectory: String { directory.appendingPathComponent("data").path }

    /// A URL for the `store` setting, to `database` (`postgres` exists from the start).
    public func url(database: String = "postgres") -> String {
        "postgres://\(Self.user):\(Self.password)@127.0.0.1:\(port)/\(database)"
    }

    /// Creates an empty database with a unique name and returns its name.
    public func createDatabase(prefix: String = "test") throws -> String {
        let name = lock.withLock {
            databaseCount += 1
            return "\(prefix)_\(ProcessInfo.processInfo.processIdentifier)_\(databaseCount)"
        }
        try psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs one SQL statement with `psql` as the superuser and returns its unaligned output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try run(
            "/usr/bin/psql",
            ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, url(database: database)],
            asUser: nil
        )
    }

    /// Starts the postmaster (again, after ``stopServer()``), waiting until it accepts connections.
    public func start() throws {
        let options = "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c max_connections=200"
        try run(
            binaries.appendingPathComponent("pg_ctl").path,
            ["-D", dataDirectory, "-l", directory.appendingPathComponent("log").path, "-o", options, "-w", "start"]
        )
    }

    /// Stops the postmaster, keeping the data: what a database restart or outage looks like.
    /// - Parameter immediate: stop without a checkpoint, as a crash would.
    public func stopServer(immediate: Bool = false) throws {
        try run(
            binaries.appendingPathComponent("pg_ctl").path,
            ["-D", dataDirectory, "-m", immediate ? "immediate" : "fast", "-w", "stop"]
        )
    }

    /// Stops the postmaster and deletes the cluster.
    public func stop() {
        _ = try? stopServer(immediate: true)
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    private func run(_ program: String, _ arguments: [String]) throws -> String {
        try run(program, arguments, asUser: runAs)
    }

    @discardableResult
    private func run(_ program: String, _ arguments: [String], asUser user: String?) throws -> String {
        let argv = (user.map { ["/usr/sbin/runuser", "-u", $0, "--"] } ?? []) + [program] + arguments
        // Output to a file, and posix_spawn + waitpid rather than Foundation's Process, whose
        // wait did not return here once `pg_ctl start` had left a postmaster behind.
        let outputPath = directory.appendingPathComponent("command-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else {
            throw Unavailable(description: "\(argv[0]) could not be started: \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw Unavailable(
                description: "\((program as NSString).lastPathComponent) \(arguments.joined(separator: " ")) "
                    + "failed (status \(status)): \(text)"
            )
        }
        return text
    }

    private static func findBinaries() throws -> URL {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let bin = URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin")
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) { return bin }
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let bin = URL(fileURLWithPath: String(directory))
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path),
                FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("pg_ctl").path)
            {
                return bin
            }
        }
        throw Unavailable(
            description:
                "PostgreSQL is not installed (no initdb): apt-get install postgresql, or run scripts/install-prerequisites.sh"
        )
    }

    private static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Unavailable(description: "no socket for a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw Unavailable(description: "could not bind a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
