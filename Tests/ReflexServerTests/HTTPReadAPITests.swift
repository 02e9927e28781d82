import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReflexCore
import ReflexMQTT
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

@Suite("HTTP API: health, auth and reads")
struct HTTPReadAPITests {
    typealias F = HTTPTestFixture

    @Test("GET /health is public and names the version")
    func health() async throws {
        try await F.run { _, client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let body = try F.json(response)
                #expect(body["status"] as? String == "ok")
                #expect(body["version"] as? String == ReflexVersion.current)
            }
        }
    }

    @Test("reads without a token or with a bad one are 401 in the JSON error shape")
    func unauthorized() async throws {
        try await F.run { _, client in
            for headers: HTTPFields in [[:], F.bearer("nope"), [.authorization: "Basic abc"]] {
                try await client.execute(uri: "/api/v1/devices", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    let parsed = try F.error(response)
                    #expect(parsed.code == "unauthorized")
                    #expect(response.headers[.wwwAuthenticate] != nil)
                }
            }
        }
    }

    @Test("an unknown route is a JSON 404")
    func unknownRoute() async throws {
        try await F.run { fixture, client in
            try await client.execute(uri: "/api/v1/nothing", method: .get, headers: F.bearer(fixture.viewerToken)) {
                #expect($0.status == .notFound)
                let parsed = try F.error($0)
                #expect(parsed.code == "not_found")
            }
        }
    }

    @Test("devices: list with filters, show one, 404 for an unknown id, 400 for a bad label")
    func devices() async throws {
        try await F.run { fixture, client in
            _ = try await fixture.registry.addDevice(
                id: try DeviceID(validating: "pump-1"),
                type: "pump",
                labels: ["site": "a"]
            )
            _ = try await fixture.registry.addDevice(id: try DeviceID(validating: "sensor-1"), type: "sensor")
            let auth = F.bearer(fixture.viewerToken)
            try await client.execute(uri: "/api/v1/devices", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let devices = try F.json(response)["devices"] as? [[String: Any]]
                #expect(devices?.compactMap { $0["id"] as? String } == ["pump-1", "sensor-1"])
            }
            try await client.execute(uri: "/api/v1/devices?type=pump", method: .get, headers: auth) { response in
                let devices = try F.json(response)["devices"] as? [[String: Any]]
                #expect(devices?.compactMap { $0["id"] as? String } == ["pump-1"])
            }
            try await client.execute(uri: "/api/v1/devices?label=site=a", method: .get, headers: auth) { response in
                let devices = try F.json(response)["devices"] as? [[String: Any]]
                #expect(devices?.compactMap { $0["id"] as? String } == ["pump-1"])
            }
            try await client.execute(uri: "/api/v1/devices?label=site", method: .get, headers: auth) { response in
                #expect(response.status == .badRequest)
                let parsed = try F.error(response)
                #expect(parsed.message.contains("'label'"))
            }
            try await client.execute(uri: "/api/v1/devices/pump-1", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let body = try F.json(response)
                #expect(body["type"] as? String == "pump")
                #expect((body["labels"] as? [String: String]) == ["site": "a"])
            }
            try await client.execute(uri: "/api/v1/devices/pump-9", method: .get, headers: auth) { response in
                #expect(response.status == .notFound)
                let parsed = try F.error(response)
                #expect(parsed.message == "no device 'pump-9'; GET /api/v1/devices lists them")
            }
        }
    }

    @Test("series, latest, raw with cursor paging, and aggregate read back appended samples")
    func seriesReads() async throws {
        try await F.run { fixture, client in
            let base = F.now - 3_600_000
            try await fixture.append("pump-1", "temp", (0..<5).map { (base + Int64($0) * 60_000, Double($0)) })
            let auth = F.bearer(fixture.viewerToken)
            try await client.execute(uri: "/api/v1/devices/pump-1/series", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let series = try F.json(response)["series"] as? [[String: Any]]
                #expect(series?.first?["metric"] as? String == "temp")
                #expect(series?.first?["first"] as? Int64 == base)
                #expect(series?.first?["last"] as? Int64 == base + 240_000)
            }
            try await client.execute(uri: "/api/v1/devices/pump-1/latest", method: .get, headers: auth) { response in
                let metrics = try F.json(response)["metrics"] as? [String: [String: Any]]
                #expect(metrics?["temp"]?["value"] as? Double == 4)
            }
            try await client.execute(uri: "/api/v1/devices/ghost/latest", method: .get, headers: auth) {
                #expect($0.status == .notFound)
            }
            var timestamps: [Int64] = []
            var cursor: Int64?
            var pages = 0
            repeat {
                let uri =
                    "/api/v1/devices/pump-1/series/temp/raw?from=\(base)&limit=2"
                    + (cursor.map { "&cursor=\($0)" } ?? "")
                let body = try await client.execute(uri: uri, method: .get, headers: auth) { response in
                    #expect(response.status == .ok)
                    return try F.json(response)
                }
                let samples = body["samples"] as? [[String: Any]] ?? []
                timestamps += samples.compactMap { $0["ts"] as? Int64 }
                cursor = body["nextCursor"] as? Int64
                pages += 1
            } while cursor != nil && pages < 10
            #expect(timestamps == (0..<5).map { base + Int64($0) * 60_000 })
            #expect(pages == 3)
            let from = "2025-11-26T07:20:00Z"
            try await client.execute(
                uri: "/api/v1/devices/pump-1/series/temp/aggregate?from=\(from)&to=\(F.now)&step=2m",
                method: .get,
                headers: auth
            ) { response in
                #expect(response.status == .ok)
                let points = try F.json(response)["points"] as? [[String: Any]] ?? []
                #expect(points.compactMap { $0["count"] as? Int } == [2, 2, 1])
                #expect(points.compactMap { $0["max"] as? Double } == [1, 3, 4])
                #expect(points.first?["mean"] as? Double == 0.5)
            }
        }
    }

    @Test(
        "bad query parameters are 400 naming the parameter",
        arguments: [
            ("/api/v1/devices/pump-1/series/temp/raw?limit=0", "'limit'"),
            ("/api/v1/devices/pump-1/series/temp/raw?limit=999999999", "'limit'"),
            ("/api/v1/devices/pump-1/series/temp/raw?from=yesterday", "'from'"),
            ("/api/v1/devices/pump-1/series/temp/raw?cursor=abc", "'cursor'"),
            ("/api/v1/devices/pump-1/series/temp/raw?from=10&to=5", "'from'"),
            ("/api/v1/devices/pump-1/series/temp/aggregate?step=fortnight", "'step'"),
            ("/api/v1/devices/pump-1/series/temp/aggregate?step=1ms", "'step'"),
            ("/api/v1/devices/pump-1/series/9temp/raw", "'metric'"),
            ("/api/v1/dead-letters?before=x", "'before'"),
        ]
    )
    func badParameters(uri: String, parameter: String) async throws {
        try await F.run { fixture, client in
            try await client.execute(uri: uri, method: .get, headers: F.bearer(fixture.viewerToken)) { response in
                #expect(response.status == .badRequest)
                let error = try F.error(response)
                #expect(error.code == "invalid_parameter")
                #expect(error.message.contains(parameter), "\(error.message)")
            }
        }
    }

    @Test("ingest stats report the store's counters and the write route's")
    func ingestStats() async throws {
        try await F.run { fixture, client in
            try await fixture.append("pump-1", "temp", [(F.now - 1000, 1), (F.now - 500, 2)])
            let write = F.bearer(fixture.operatorToken)
            let good = ByteBuffer(string: "m,host=dev-1 a=1,b=2 \(F.now - 100)\n")
            try await client.execute(uri: "/api/v2/write?precision=ms", method: .post, headers: write, body: good) {
                #expect($0.status == .noContent)
            }
            try await client.execute(
                uri: "/api/v2/write",
                method: .post,
                headers: write,
                body: ByteBuffer(string: "m a\n")
            ) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/ingest/stats", method: .get, headers: F.bearer(fixture.viewerToken))
            {
                #expect($0.status == .ok)
                let body = try F.json($0)
                let store = body["store"] as? [String: Any]
                #expect(store?["samplesCommitted"] as? Int == 4)
                let http = body["http"] as? [String: Any]
                #expect(http?["requests"] as? Int == 1 && http?["samples"] as? Int == 2)
                #expect(http?["rejectedRequests"] as? Int == 1 && http?["connections"] is [String: Int])
            }
        }
    }

    @Test("the service names the address and the flag when it cannot listen")
    func cannotListen() async throws {
        try await F.run { fixture, _ in
            // A live test server holds a port; a second listener on it must fail.
            try await Application(router: fixture.api.makeRouter()).test(.live) { client in
                let port = try #require(client.port)
                let service = HTTPAPIService(api: fixture.api, listen: .init(host: "127.0.0.1", port: port))
                let error = await #expect(throws: HTTPStartError.self) { try await service.run() }
                #expect(error?.message.hasPrefix("cannot listen for HTTP on 127.0.0.1:\(port): ") == true)
                #expect(error?.message.contains("--http-listen") == true)
            }
        }
    }

}
