public import Foundation
public import ReflexCore

/// A command as it arrives on `devices/{id}/commands/{name}`:
/// `{"id": "...", "params": {...}, "expiresAt": ...}` with `expiresAt` in ms since 1970 or RFC 3339
/// (optional).
public struct CommandRequest: Sendable, Hashable {
    /// The command's id, echoed in the ack ("" if the payload had none).
    public var id: String
    /// The command name, from the topic.
    public var name: String
    public var params: [String: JSONValue]
    /// When the command stops being valid, if it says.
    public var expiresAt: Date?

    public init(id: String, name: String, params: [String: JSONValue] = [:], expiresAt: Date? = nil) {
        self.id = id
        self.name = name
        self.params = params
        self.expiresAt = expiresAt
    }

    private struct Wire: Decodable {
        var id: String?
        var params: [String: JSONValue]?
        var expiresAt: JSONValue?
    }

    /// Parses a command payload.
    /// - Returns: the request, or the ack to send when the payload cannot be a command (its id if
    ///   one could be read, and a rejection saying why).
    public static func parse(name: String, payload: [UInt8]) -> Result<CommandRequest, RejectedCommand> {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(payload))
        } catch {
            return .failure(
                RejectedCommand(
                    id: "",
                    detail: "command '\(name)': payload is not a JSON object with id, params, expiresAt"
                )
            )
        }
        let id = wire.id ?? ""
        var expiresAt: Date?
        switch wire.expiresAt {
        case nil, .null?: break
        case .number(let milliseconds)?: expiresAt = Date(timeIntervalSince1970: milliseconds / 1000)
        case .string(let text)?:
            guard let date = try? Date(text, strategy: .iso8601) else {
                return .failure(
                    RejectedCommand(id: id, detail: "command '\(name)': expiresAt '\(text)' is not RFC 3339")
                )
            }
            expiresAt = date
        case let other?:
            return .failure(
                RejectedCommand(
                    id: id,
                    detail: "command '\(name)': expiresAt must be ms since 1970 or RFC 3339, not \(other)"
                )
            )
        }
        return .success(CommandRequest(id: id, name: name, params: wire.params ?? [:], expiresAt: expiresAt))
    }

    /// Whether the command expired before `now`.
    public func isExpired(at now: Date) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= now
    }
}

/// A command refused before it reached the device logic.
public struct RejectedCommand: Error, Sendable, Hashable {
    public var id: String
    public var detail: String
}

/// The ack payload `{"id": "...", "status": "...", "detail": "..."}`.
public struct CommandAck: Sendable, Hashable, Codable {
    public var id: String
    public var status: CommandResult.Status
    public var detail: String

    public init(id: String, status: CommandResult.Status, detail: String) {
        self.id = id
        self.status = status
        self.detail = detail
    }

    /// The JSON bytes.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? Array(#"{"status":"rejected"}"#.utf8)
    }
}
