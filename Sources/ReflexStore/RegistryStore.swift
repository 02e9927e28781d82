public import ReflexCore

/// The part of the device registry that the HTTP API, detection and automation read: listing
/// and looking up devices.
///
/// ``SQLiteDeviceRegistry`` and ``PostgresDeviceRegistry`` conform; tests may pass a fake.
public protocol DeviceDirectory: Sendable {
    /// Devices, filtered by `type` and by one label `key=value` when given, sorted by id.
    func devices(type: String?, label: (key: String, value: String)?) async throws -> [Device]
    /// One device, or nil if the id is unknown.
    func device(_ id: DeviceID) async throws -> Device?
}

/// Changing the registry: devices and their tokens, operator tokens. What `reflex device ...`,
/// `reflex token ...` and the node's first start do.
public protocol DeviceRegistryManagement: Sendable {
    /// Where the registry is kept, for messages: a file path or a redacted database URL.
    var location: String { get }
    /// Registers a device and returns its token, the only time the token is available.
    /// - Throws: ``RegistryError`` `.deviceExists`, `.invalidArgument`, `.storage`.
    func addDevice(
        id: DeviceID,
        name: String?,
        type: String?,
        labels: [String: String]
    ) async throws -> (Device, token: String)
    /// Enables or disables a device; a disabled device cannot connect.
    func setEnabled(_ id: DeviceID, _ isEnabled: Bool) async throws
    /// Replaces a device's token and returns the new one; the old one stops working.
    func rotateToken(_ id: DeviceID) async throws -> String
    /// Creates an operator token and returns it, the only time the secret is available.
    func createOperatorToken(name: String, role: OperatorRole) async throws -> (OperatorToken, token: String)
    /// Revokes an operator token; revoking twice is not an error.
    func revokeOperatorToken(id: Int64) async throws
    /// Every operator token record, revoked ones included, by id.
    func operatorTokens() async throws -> [OperatorToken]
    /// Creates the initial admin token if no usable admin token exists and returns its secret;
    /// nil when one exists. Atomic across processes.
    func ensureAdminToken() async throws -> String?
}

extension OperatorToken {
    /// The name of the admin token ``DeviceRegistryManagement/ensureAdminToken()`` creates.
    public static let initialAdminName = "initial-admin"
}

/// Everything a node needs of its device registry, in one existential.
public typealias RegistryStore =
    DeviceRegistry & CredentialRegistry & OperatorTokenVerifier & DeviceDirectory & DeviceRegistryManagement

extension SQLiteDeviceRegistry: DeviceDirectory, DeviceRegistryManagement {
    /// The database file's path.
    public var location: String { path }
}
