/// The roles an authenticated MQTT identity carries, as the node's authenticator grants them.
public enum ClientRoles {
    /// The role of an authenticated device.
    public static let device = "device"
    /// The roles of admin operators.
    public static let admin: Set<String> = ["operator", "admin"]
}
