import ReflexStore

/// StoreBench's command line: `StoreBench [messages-per-device] [--store sqlite|postgres://...]`.
struct BenchOptions {
    static let usage = """
        usage: StoreBench [messages-per-device] [--store sqlite|postgres://USER:PASSWORD@HOST:PORT/DATABASE]
          messages-per-device  ingest messages per device, 100 devices x 10 values each (default 2000)
          --store              the backend (default sqlite); with a postgres:// URL every phase runs in a
                               fresh database created and dropped through that URL's database (needs CREATEDB)
          MAX_PENDING=N        (environment) the store's bound on pending samples
        """

    var messagesPerDevice = 2000
    var location = StoreLocation.sqlite

    /// The options in `arguments` (without the program's name), or nil with the reason.
    static func parse(_ arguments: [String]) -> Result<BenchOptions, BenchOptionsError> {
        var options = BenchOptions()
        var rest = arguments[...]
        var sawCount = false
        while let argument = rest.popFirst() {
            var storeText: String?
            if argument == "--store" {
                guard let value = rest.popFirst() else { return .failure(.init("\(argument) needs a value")) }
                storeText = value
            } else if argument.hasPrefix("--store=") {
                storeText = String(argument.dropFirst("--store=".count))
            } else if argument == "--help" || argument == "-h" {
                return .failure(.init(nil))
            } else if !sawCount, let count = Int(argument), count > 0 {
                options.messagesPerDevice = count
                sawCount = true
                continue
            } else {
                return .failure(.init("unexpected argument '\(StoreLocation.redacted(argument))'"))
            }
            guard let storeText else { continue }
            do {
                options.location = try StoreLocation.parse(storeText)
            } catch {
                return .failure(.init("--store: \(error)"))
            }
        }
        return .success(options)
    }
}

/// Why the command line was refused (nil reason: `--help`).
struct BenchOptionsError: Error {
    var reason: String?

    init(_ reason: String?) { self.reason = reason }
}
