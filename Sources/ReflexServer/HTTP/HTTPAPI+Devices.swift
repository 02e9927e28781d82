import Hummingbird
import ReflexCore
import ReflexNode
import ReflexStore

extension HTTPAPI {
    /// `GET /api/v1/devices[?type=&label=k=v]` and `GET /api/v1/devices/{id}`.
    func addDeviceRoutes(to router: Router<APIRequestContext>) {
        let devices = self.devices
        router.get("/api/v1/devices") { request, context -> DeviceListResponse in
            _ = try context.require(.viewer)
            let query = QueryParameters(request)
            var label: (key: String, value: String)?
            if let text = query.text("label") {
                let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw APIError.badParameter("label", text, expected: "key=value")
                }
                label = (String(parts[0]), String(parts[1]))
            }
            let found = try await devices.devices(type: query.text("type"), label: label)
            return DeviceListResponse(devices: found.map(DeviceResponse.init))
        }
        router.get("/api/v1/devices/:id") { _, context -> DeviceResponse in
            _ = try context.require(.viewer)
            let id = try Self.deviceID(context)
            guard let device = try await devices.device(id) else { throw APIError.unknownDevice(id.rawValue) }
            return DeviceResponse(device)
        }
    }

    /// The `{id}` path parameter as a ``DeviceID``; 400 naming the rule when it breaks one.
    static func deviceID(_ context: APIRequestContext) throws -> DeviceID {
        let text = context.parameters.get("id") ?? ""
        do {
            return try DeviceID(validating: text)
        } catch {
            throw APIError(.badRequest, code: "invalid_parameter", message: "path parameter 'id': \(error.message)")
        }
    }

    /// The `{metric}` path parameter as a ``MetricName``.
    static func metricName(_ context: APIRequestContext) throws -> MetricName {
        let text = context.parameters.get("metric") ?? ""
        do {
            return try MetricName(validating: text)
        } catch {
            throw APIError(.badRequest, code: "invalid_parameter", message: "path parameter 'metric': \(error.message)")
        }
    }
}
