public import HTTPTypes
public import Hummingbird
import NIOCore
import ReflexNode

/// An error of the HTTP API, answered as JSON with its status.
///
/// The body is `{"error": {"code": "not_found", "message": "..."}}`, or InfluxDB's shape
/// `{"code": "invalid", "message": "..."}` for the InfluxDB-compatible write route, so that
/// Telegraf and InfluxDB client libraries show the message. This is the only place where
/// failures turn into HTTP status codes (STYLE §6).
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    /// Which JSON shape the error is written in.
    public enum Shape: Sendable {
        /// `{"error": {"code": ..., "message": ...}}`
        case reflex
        /// `{"code": ..., "message": ...}` (InfluxDB v2)
        case influx
    }

    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A stable, machine-readable code such as `not_found` or `invalid_parameter`.
    public var code: String
    /// What went wrong and what to do, for a person.
    public var message: String
    /// The JSON shape of the body.
    public var shape: Shape
    /// Extra response headers (`WWW-Authenticate` for 401).
    public var headers: HTTPFields

    /// Creates an error.
    public init(
        _ status: HTTPResponse.Status,
        code: String,
        message: String,
        shape: Shape = .reflex,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.shape = shape
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The same error in InfluxDB's shape, with InfluxDB's code for the status.
    public var influx: APIError {
        var copy = self
        copy.shape = .influx
        copy.code = Self.influxCode(for: status)
        return copy
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: String
        switch shape {
        case .reflex:
            body = "{\"error\":{\"code\":\(Self.jsonString(code)),\"message\":\(Self.jsonString(message))}}"
        case .influx:
            body = "{\"code\":\(Self.jsonString(code)),\"message\":\(Self.jsonString(message))}"
        }
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// InfluxDB v2's error codes by status.
    static func influxCode(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400, 422: "invalid"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not found"
        case 413: "request too large"
        case 415: "unsupported media type"
        case 503: "unavailable"
        default: "internal error"
        }
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension APIError {
    /// 400 for a query or path parameter that does not parse; names the parameter.
    static func badParameter(_ name: String, _ text: String, expected: String) -> APIError {
        APIError(
            .badRequest,
            code: "invalid_parameter",
            message: "parameter '\(name)': expected \(expected), got '\(text.prefix(100))'"
        )
    }

    /// 404 for a device the registry does not know.
    static func unknownDevice(_ id: String) -> APIError {
        APIError(.notFound, code: "not_found", message: "no device '\(id.prefix(128))'; GET /api/v1/devices lists them")
    }
}
