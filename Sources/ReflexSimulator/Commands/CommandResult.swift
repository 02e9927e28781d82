/// What a device answers to a command: the `status` and `detail` of its ack.
public struct CommandResult: Sendable, Hashable {
    /// The ack status.
    public enum Status: String, Sendable, Hashable, Codable {
        case accepted
        case done
        case rejected
    }

    public var status: Status
    /// Why (for rejections) or what was done, in words.
    public var detail: String

    public static func done(_ detail: String) -> CommandResult { CommandResult(status: .done, detail: detail) }
    public static func rejected(_ detail: String) -> CommandResult { CommandResult(status: .rejected, detail: detail) }
}
