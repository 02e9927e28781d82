import Foundation
import Hummingbird
import ReflexCore
import ReflexNode
import ReflexStore

// The JSON bodies of the HTTP API's answers. Small value types that mirror docs/api.md; kept in
// one file because each is a handful of fields with no behaviour.

/// One device, as `GET /api/v1/devices` and `GET /api/v1/devices/{id}` show it.
struct DeviceResponse: ResponseEncodable {
    var id: String
    var name: String
    var type: String
    var labels: [String: String]
    var enabled: Bool
    var createdAt: Int64?
    var tokenRotatedAt: Int64?

    init(_ device: Device) {
        self.id = device.id.rawValue
        self.name = device.name
        self.type = device.type
        self.labels = device.labels
        self.enabled = device.isEnabled
        self.createdAt = device.createdAt.map { Int64($0.timeIntervalSince1970 * 1000) }
        self.tokenRotatedAt = device.tokenRotatedAt.map { Int64($0.timeIntervalSince1970 * 1000) }
    }
}

/// `GET /api/v1/devices`
struct DeviceListResponse: ResponseEncodable {
    var devices: [DeviceResponse]
}

/// `GET /api/v1/devices/{id}/series`
struct SeriesListResponse: ResponseEncodable {
    struct Series: Encodable {
        var metric: String
        var count: Int64
        var first: Int64?
        var last: Int64?
    }
    var device: String
    var series: [Series]
}

/// One sample: `{"ts": ms, "value": number}`.
struct SampleResponse: Encodable {
    var ts: Int64
    var value: Double
}

/// `GET /api/v1/devices/{id}/latest`
struct LatestResponse: ResponseEncodable {
    var device: String
    var metrics: [String: SampleResponse]
}

/// `GET /api/v1/devices/{id}/series/{metric}/raw`; `nextCursor` is `null` on the last page.
struct RawSamplesResponse: ResponseEncodable {
    var device: String
    var metric: String
    var samples: [SampleResponse]
    var nextCursor: Int64?

    enum CodingKeys: String, CodingKey { case device, metric, samples, nextCursor }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(device, forKey: .device)
        try container.encode(metric, forKey: .metric)
        try container.encode(samples, forKey: .samples)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// `GET /api/v1/devices/{id}/series/{metric}/aggregate`
struct AggregateResponse: ResponseEncodable {
    struct Point: Encodable {
        var start: Int64
        var min: Double
        var max: Double
        var mean: Double
        var count: Int64
        var last: Double
    }
    var device: String
    var metric: String
    var from: Int64
    var to: Int64
    var stepMs: Int64
    var points: [Point]
}

/// `GET /api/v1/dead-letters`; pass `nextBefore` as `before` for the next (older) page.
struct DeadLetterListResponse: ResponseEncodable {
    struct Letter: Encodable {
        var id: Int64
        var receivedAt: Int64
        var device: String?
        var topic: String
        var reason: String
        /// The kept prefix of the payload as UTF-8 text (invalid bytes replaced).
        var payload: String
        var payloadSize: Int
    }
    var deadLetters: [Letter]
    var nextBefore: Int64?

    enum CodingKeys: String, CodingKey { case deadLetters, nextBefore }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(deadLetters, forKey: .deadLetters)
        try container.encode(nextBefore, forKey: .nextBefore)
    }
}

/// `GET /api/v1/ingest/stats`
struct IngestStatsResponse: ResponseEncodable {
    struct Store: Encodable {
        var samplesCommitted: Int64
        var messagesCommitted: Int64
        var deadLettersCommitted: Int64
        var commits: Int64
        var failedCommits: Int64
        var messagesRejected: Int64
        var pendingSamples: Int
    }
    struct MQTT: Encodable {
        var messages: Int
        var samples: Int
        var rejectedMessages: Int
        var samplesOverLimit: Int
    }
    /// The series limits (MQTT and HTTP writes together).
    struct Series: Encodable {
        var series: Int
        var newSeries: Int
        var samplesRefused: Int
        var messagesRefused: Int
        var messagesPartlyRefused: Int
        var refusedByLimit: [String: Int]
        var maxSeriesPerDevice: Int
        var maxSeries: Int
        var maxNewSeriesPerMinute: Int
        var maxNewSeriesPerMinutePerNode: Int
    }
    struct HTTP: Encodable {
        var requests: Int
        var samples: Int
        var rejectedRequests: Int
        var connections: HTTPConnectionStatistics
    }
    var store: Store
    var mqtt: MQTT?
    var http: HTTP
    var series: Series?
}
