import Foundation
package import ReflexMQTT
import ReflexNode

extension BrokerConfiguration.Endpoint {
    /// What a listener setting accepts, for messages.
    package static let expectedListenerText = "host:port (e.g. 0.0.0.0:1883 or [::1]:1883), or 'off'"

    /// Parses a listener address.
    ///
    /// Accepted: `host:port` with a host name or IPv4 address, `[ipv6]:port` (brackets required,
    /// a zone such as `[fe80::1%eth0]` is allowed), `:port` for all IPv4 interfaces (`0.0.0.0`).
    /// Ports are 0-65535 (0 asks the system for a free port). Empty text or `off` (any case)
    /// means "no listener" and returns nil.
    /// - Throws: a ``ValueProblem`` with a hint for the common mistakes (a bare port, an IPv6
    ///   address without brackets, a missing port).
    package static func parse(listener text: String) throws(ValueProblem) -> Self? {
        let text = text.trimmingWhitespace()
        if text.isEmpty || text.lowercased() == "off" { return nil }
        let expected = expectedListenerText
        if let scheme = text.range(of: "://") {
            throw ValueProblem(expected: expected, hint: "leave out the scheme, e.g. \(text[scheme.upperBound...])")
        }
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ValueProblem(expected: expected, hint: "close the IPv6 address with ']', e.g. [::1]:1883")
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw ValueProblem(expected: expected, hint: "add the port after the bracket, e.g. [\(host)]:1883")
            }
            portText = rest.dropFirst()
            guard isIPv6Literal(host) else {
                throw ValueProblem(expected: expected, hint: "'\(host)' inside brackets is not an IPv6 address")
            }
        } else {
            let colons = text.filter { $0 == ":" }.count
            if colons == 0 {
                if !text.isEmpty, text.allSatisfy(\.isASCIIDigit) {
                    throw ValueProblem(expected: expected, hint: "add a host, e.g. 0.0.0.0:\(text) for all interfaces")
                }
                throw ValueProblem(expected: expected, hint: "add a port, e.g. \(text):1883")
            }
            if colons > 1 {
                let lastColon = text.lastIndex(of: ":") ?? text.endIndex
                let address = text[..<lastColon]
                let port = text[text.index(after: lastColon)...]
                throw ValueProblem(
                    expected: expected,
                    hint: "write IPv6 addresses in brackets, e.g. [\(address)]:\(port)"
                )
            }
            let colon = text.firstIndex(of: ":") ?? text.endIndex
            let name = String(text[..<colon])
            host = name.isEmpty ? "0.0.0.0" : name
            portText = text[text.index(after: colon)...]
            guard isHostName(host) else {
                throw ValueProblem(expected: expected, hint: "'\(host)' is not a host name or IPv4 address")
            }
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCIIDigit),
            let port = Int(portText), port <= 65_535
        else {
            throw ValueProblem(expected: expected, hint: "the port must be a number from 0 to 65535")
        }
        return Self(host: host, port: port)
    }

    /// Letters, digits, `.`, `-` and `_`; this is a plausibility check, the resolver has the last word.
    private static func isHostName(_ host: String) -> Bool {
        !host.isEmpty && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }
    }

    /// Hex digits, `:` and `.` (IPv4-mapped), with at least one `:`, and an optional `%zone`.
    private static func isIPv6Literal(_ host: String) -> Bool {
        let parts = host.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        let address = parts[0]
        if parts.count == 2, parts[1].isEmpty { return false }
        return address.contains(":") && address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
