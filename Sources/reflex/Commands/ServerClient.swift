import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `--server` and `--token`, shared by the commands that talk to a running `reflex serve` over
/// its HTTP API (alarm, command, override, autonomy, rules).
struct ServerOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The server's HTTP API (env REFLEX_SERVER; default: http://127.0.0.1:8080).",
            valueName: "url"
        )
    )
    var server: String?

    @Option(
        help: ArgumentHelp(
            "An operator token (env REFLEX_TOKEN); `reflex token create` makes one.",
            valueName: "token"
        )
    )
    var token: String?

    @Flag(help: "Print the server's JSON instead of text.")
    var json = false

    var baseURL: String {
        let text = server ?? ProcessInfo.processInfo.environment["REFLEX_SERVER"] ?? "http://127.0.0.1:8080"
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    var resolvedToken: String? {
        if let token, !token.isEmpty { return token }
        if let variable = ProcessInfo.processInfo.environment["REFLEX_TOKEN"], !variable.isEmpty { return variable }
        return nil
    }

    /// Sends a request and returns the decoded JSON object; prints the server's error and exits 1
    /// otherwise.
    func request(_ method: String, _ path: String, body: Any? = nil, text: String? = nil) async throws -> [String: Any]
    {
        guard let token = resolvedToken else {
            throw fail(
                "no token: pass --token <operator token> or set REFLEX_TOKEN (`reflex token create --role operator --name me` makes one)"
            )
        }
        guard let url = URL(string: baseURL + path) else {
            throw fail("--server '\(baseURL)' is not a URL such as http://127.0.0.1:8080")
        }
        var request = URLRequest(url: url, timeoutInterval: 15)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let text {
            request.httpBody = Data(text.utf8)
            request.setValue("application/yaml", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw fail(
                "cannot reach the Reflex server at \(baseURL): \(error.localizedDescription); is `reflex serve` running? Pass --server or set REFLEX_SERVER"
            )
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else {
            let message =
                ((object["error"] as? [String: Any])?["message"] as? String) ?? String(decoding: data, as: UTF8.self)
            switch status {
            case 401: throw fail("the server refused the token (\(message)); pass a valid --token or set REFLEX_TOKEN")
            case 403: throw fail("not allowed: \(message)")
            default: throw fail("\(method) \(path) failed (\(status)): \(message)")
            }
        }
        return object
    }

    /// Prints `object` as JSON when --json was given; returns whether it did.
    func printJSON(_ object: Any) -> Bool {
        guard json else { return false }
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
        return true
    }
}

/// Percent-encodes a path segment.
func pathSegment(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? text
}

/// A query string from the non-nil items.
func queryString(_ items: [(String, String?)]) -> String {
    let present = items.compactMap { name, value in value.map { "\(name)=\(pathSegment($0))" } }
    return present.isEmpty ? "" : "?" + present.joined(separator: "&")
}

/// A time in ms since the epoch as an ISO 8601 text ("-" for none).
func timeText(_ value: Any?) -> String {
    guard let ms = (value as? NSNumber)?.doubleValue else { return "-" }
    return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: ms / 1000))
}

/// A JSON value as short text, ``terminalSafe(_:)``.
func valueText(_ value: Any?) -> String {
    switch value {
    case nil, is NSNull: return "-"
    case let s as String: return terminalSafe(s)
    case let n as NSNumber: return "\(n)"
    case let v?:
        if let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]) {
            return terminalSafe(String(decoding: data, as: UTF8.self))
        }
        return terminalSafe("\(v)")
    }
}
