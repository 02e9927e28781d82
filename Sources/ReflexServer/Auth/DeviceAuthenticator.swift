public import Logging
import NIOCore
import ReflexCore
public import ReflexMQTT
import ReflexNode
public import ReflexStore

/// The broker's authenticator and authorizer: devices by token, admin operators, and (only when
/// configured) anonymous clients.
///
/// Who may connect (CONNECT user name / password):
/// - a **device**: user name = its id, password = its token (`rfx_dev_…`). Identity: principal
///   = the id, role `device`. Unknown id or wrong token → `0x86 bad user name or password`
///   (3.1.1: return code 4); a disabled device with the right token → `0x87 not authorized` (5).
/// - an **admin operator**: password = an operator token (`rfx_op_…`) with role admin; the user
///   name is free (by convention `operator:<name>`). Identity: principal `operator:<token name>`,
///   roles `operator` and `admin`. Viewer and operator tokens → `0x87 not authorized`.
/// - **no user name**: refused with `0x87 not authorized`, unless anonymous access is on
///   (`--allow-anonymous`, a development mode), in which case the client is anonymous.
///
/// What they may do:
/// - a device publishes and subscribes only inside `devices/{its id}/`: a topic must start with
///   that prefix; so must a filter (after a `$share/{group}/` prefix), and since a device id never
///   contains `+` or `#`, every wildcard then sits below the device's own level, e.g.
///   `devices/pump-7/#` is allowed and `devices/+/telemetry`, `devices/#`, `#` are not.
/// - an admin operator subscribes and publishes anywhere.
/// - an anonymous client (only when allowed) subscribes and publishes anywhere.
/// - nobody publishes to a topic starting with `$` (the broker's `$SYS` tree).
///
/// Credentials are never logged; refusals are logged at `notice` with the user name and counted
/// in ``statistics``. An accepted identity records which credential it used
/// (``CredentialReference``: the device token's fingerprint or the operator token's id), so that
/// the ``RevocationWatcher`` can disconnect it when that credential is disabled, rotated or revoked.
public struct DeviceAuthenticator: Authenticator, TopicAuthorizer {
    /// The role given to authenticated devices.
    public static let deviceRole = ClientRoles.device
    /// The roles given to admin operators.
    public static let adminRoles = ClientRoles.admin

    let devices: any DeviceRegistry
    let operators: (any OperatorTokenVerifier)?
    /// Whether clients without a user name may connect (development mode).
    public let allowsAnonymous: Bool
    /// Counts of accepted and refused connections.
    public let statistics: AuthenticationStatistics
    let logger: Logger

    /// - Parameters:
    ///   - devices: checks device tokens.
    ///   - operators: checks operator tokens for admin MQTT access; nil turns that off.
    ///   - allowsAnonymous: let clients without a user name connect, with full access.
    ///   - logger: for refusals (notice) and errors.
    public init(
        devices: any DeviceRegistry,
        operators: (any OperatorTokenVerifier)?,
        allowsAnonymous: Bool,
        logger: Logger
    ) {
        self.devices = devices
        self.operators = operators
        self.allowsAnonymous = allowsAnonymous
        self.statistics = AuthenticationStatistics()
        self.logger = logger
    }

    // MARK: - Authenticator

    public func authenticate(_ credentials: ConnectCredentials) async -> AuthenticationResult {
        guard let username = credentials.username else {
            if allowsAnonymous, credentials.password == nil {
                statistics.count(.acceptedAnonymous)
                return .accepted(.anonymous)
            }
            return refuse(.anonymous, .notAuthorized, credentials, detail: "no user name; anonymous access is off")
        }
        guard let password = credentials.password, let token = password.getString(at: 0, length: password.readableBytes)
        else {
            return refuse(.badCredentials, .badUserNameOrPassword, credentials, detail: "no password")
        }
        if token.hasPrefix(TokenHasher.operatorPrefix), let operators {
            return await authenticateOperator(token: token, verifier: operators, credentials: credentials)
        }
        guard let id = try? DeviceID(validating: username) else {
            return refuse(.badCredentials, .badUserNameOrPassword, credentials, detail: "user name is not a device id")
        }
        do {
            let check = try await devices.verifyCredential(device: id, token: token)
            switch check.verification {
            case .accepted:
                statistics.count(.acceptedDevice)
                let credential = check.tokenFingerprint.map {
                    CredentialReference.deviceToken(device: id, fingerprint: $0).encoded
                }
                return .accepted(
                    ClientIdentity(principal: id.rawValue, roles: [Self.deviceRole], credential: credential)
                )
            case .disabled:
                return refuse(.disabled, .notAuthorized, credentials, detail: "device is disabled")
            case .unknownDevice:
                return refuse(.badCredentials, .badUserNameOrPassword, credentials, detail: "unknown device")
            case .wrongToken:
                return refuse(.badCredentials, .badUserNameOrPassword, credentials, detail: "wrong token")
            }
        } catch {
            logger.error(
                "Cannot check device credentials",
                metadata: ["mqtt.username": "\(username)", "error": "\(error)"]
            )
            statistics.count(.error)
            return .refused(.serverUnavailable)
        }
    }

    private func authenticateOperator(
        token: String,
        verifier: any OperatorTokenVerifier,
        credentials: ConnectCredentials
    ) async -> AuthenticationResult {
        do {
            guard let record = try await verifier.verifyOperatorToken(token) else {
                return refuse(.badCredentials, .badUserNameOrPassword, credentials, detail: "unknown operator token")
            }
            guard record.role == .admin else {
                return refuse(
                    .operatorNotAdmin,
                    .notAuthorized,
                    credentials,
                    detail: "operator token '\(record.name)' has role \(record.role.rawValue); MQTT needs admin"
                )
            }
            statistics.count(.acceptedOperator)
            return .accepted(
                ClientIdentity(
                    principal: "operator:\(record.name)",
                    roles: Self.adminRoles,
                    credential: CredentialReference.operatorToken(id: record.id).encoded
                )
            )
        } catch {
            logger.error("Cannot check an operator token", metadata: ["error": "\(error)"])
            statistics.count(.error)
            return .refused(.serverUnavailable)
        }
    }

    private func refuse(
        _ outcome: AuthenticationStatistics.Outcome,
        _ reason: ReasonCode,
        _ credentials: ConnectCredentials,
        detail: String
    ) -> AuthenticationResult {
        statistics.count(outcome)
        logger.notice(
            "Refused MQTT credentials",
            metadata: [
                // Client-chosen: a token in the user name (user name and password swapped) is
                // never logged, nor are control characters (LogSanitizer).
                "mqtt.clientID": "\(LogSanitizer.sanitized(credentials.clientID))",
                "mqtt.username": "\(LogSanitizer.sanitized(credentials.username ?? ""))",
                "mqtt.remoteAddress": "\(credentials.remoteAddress ?? "")",
                "mqtt.reason": "\(reason)",
                "auth.detail": "\(detail)",
            ]
        )
        return .refused(reason)
    }

    // MARK: - TopicAuthorizer

    public func mayPublish(_ identity: ClientIdentity, clientID: String, topic: String) -> Bool {
        // The broker rejects wildcards in topic names before asking; refuse them here too.
        if topic.hasPrefix("$") || topic.contains("+") || topic.contains("#") { return false }
        return mayAccess(identity, topicOrFilter: Substring(topic))
    }

    public func maySubscribe(_ identity: ClientIdentity, clientID: String, filter: String) -> Bool {
        var filter = Substring(filter)
        if filter.hasPrefix("$share/") {
            // `$share/{group}/{filter}`: authorize the filter itself.
            let parts = filter.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return false }
            filter = parts[2]
        }
        return mayAccess(identity, topicOrFilter: filter)
    }

    private func mayAccess(_ identity: ClientIdentity, topicOrFilter: Substring) -> Bool {
        if identity.roles.contains("admin") { return true }
        if identity.roles.contains(Self.deviceRole) {
            guard let id = identity.principal else { return false }
            return Self.isInsideDeviceTree(topicOrFilter, device: id)
        }
        return allowsAnonymous && identity.principal == nil && identity.roles.isEmpty
    }

    /// Whether a topic or filter lies strictly under `devices/{id}/`. Device ids cannot contain
    /// `/`, `+` or `#` (``ReflexCore/DeviceID``), so a prefix match pins the first two levels and
    /// any wildcard after it stays inside the subtree.
    static func isInsideDeviceTree(_ topicOrFilter: Substring, device id: String) -> Bool {
        let prefix = "devices/\(id)/"
        return topicOrFilter.count > prefix.count && topicOrFilter.hasPrefix(prefix)
    }
}
