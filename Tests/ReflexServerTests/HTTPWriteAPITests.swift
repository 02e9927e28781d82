import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

@Suite("HTTP API: InfluxDB v2 write")
struct HTTPWriteAPITests {
    typealias F = HTTPTestFixture

    /// The headers Telegraf's `outputs.influxdb_v2` sends (content_encoding = "gzip", the default).
    static func telegrafHeaders(_ token: String) -> HTTPFields {
        [
            .authorization: "Token \(token)",
            .contentEncoding: "gzip",
            .contentType: "text/plain; charset=utf-8",
            .userAgent: "Telegraf/1.32.0 Go/1.23.2",
        ]
    }

    @Test("a Telegraf-identical gzip write is 204 and reads back through the raw route")
    func telegrafWrite() async throws {
        try await F.run { fixture, client in
            let t0 = (F.now - 10_000) * 1_000_000
            let body = """
                cpu,cpu=cpu0,host=dev-1 usage_idle=99.5,usage_user=0.3 \(t0)
                cpu,cpu=cpu0,host=dev-1 usage_idle=98.25,usage_user=1.5 \(t0 + 1_000_000_000)

                """
            try await client.execute(
                uri: "/api/v2/write?org=acme&bucket=telegraf&precision=ns",
                method: .post,
                headers: Self.telegrafHeaders(fixture.operatorToken),
                body: try F.gzip(body)
            ) { response in
                #expect(response.status == .noContent)
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(
                uri: "/api/v1/devices/dev-1/series/cpu.usage_idle/raw?from=\(F.now - 60_000)",
                method: .get,
                headers: F.bearer(fixture.viewerToken)
            ) { response in
                #expect(response.status == .ok)
                let samples = try F.json(response)["samples"] as? [[String: Any]] ?? []
                #expect(samples.compactMap { $0["ts"] as? Int64 } == [F.now - 10_000, F.now - 9_000])
                #expect(samples.compactMap { $0["value"] as? Double } == [99.5, 98.25])
            }
        }
    }

    @Test("a gzip body larger than one inflate window is stored whole")
    func largeGzipWrite() async throws {
        try await F.run { fixture, client in
            let start = F.now - 30_000
            let lines = (0..<20_000).map { "big,host=dev-2 value=\($0) \(start + Int64($0))\n" }.joined()
            try await client.execute(
                uri: "/api/v2/write?precision=ms",
                method: .post,
                headers: Self.telegrafHeaders(fixture.operatorToken),
                body: try F.gzip(lines)
            ) { #expect($0.status == .noContent) }
            let latest = fixture.store.latest(device: try DeviceID(validating: "dev-2"))
            #expect(latest[try MetricName(validating: "big.value")]?.value == 19_999)
            #expect(latest[try MetricName(validating: "big.value")]?.timestamp == start + 19_999)
        }
    }

    @Test("an uncompressed write with precision=s and an admin token is stored too")
    func identityWrite() async throws {
        try await F.run { fixture, client in
            let seconds = F.now / 1000 - 5
            try await client.execute(
                uri: "/api/v2/write?precision=s",
                method: .post,
                headers: F.bearer(fixture.adminToken),
                body: ByteBuffer(string: "env,device=pump-1 temp=21.5 \(seconds)\n")
            ) { #expect($0.status == .noContent) }
            let latest = fixture.store.latest(device: try DeviceID(validating: "pump-1"))
            #expect(latest[try MetricName(validating: "env.temp")]?.timestamp == seconds * 1000)
        }
    }

    @Test("a viewer may read but gets 403 on write; no token is 401")
    func viewerCannotWrite() async throws {
        try await F.run { fixture, client in
            try await client.execute(
                uri: "/api/v2/write",
                method: .post,
                headers: [.authorization: "Token \(fixture.viewerToken)"],
                body: ByteBuffer(string: "cpu,host=dev-1 v=1\n")
            ) { response in
                #expect(response.status == .forbidden)
                let body = try F.json(response)
                #expect(body["code"] as? String == "forbidden")
                #expect((body["message"] as? String)?.contains("viewer") == true)
            }
            try await client.execute(
                uri: "/api/v2/write",
                method: .post,
                body: ByteBuffer(string: "cpu,host=dev-1 v=1\n")
            ) { response in
                #expect(response.status == .unauthorized)
                let parsed = try F.json(response)
                #expect(parsed["code"] as? String == "unauthorized")
            }
            #expect(fixture.store.latest(device: try DeviceID(validating: "dev-1")).isEmpty)
        }
    }

    @Test("a malformed line rejects the whole write with 400 naming the line, and is a dead letter")
    func malformedLine() async throws {
        try await F.run { fixture, client in
            let t = (F.now - 1000) * 1_000_000
            let body = "cpu,host=dev-1 usage_idle=1 \(t)\ncpu,host=dev-1 usage_idle=oops \(t)\n"
            try await client.execute(
                uri: "/api/v2/write?org=o&bucket=b",
                method: .post,
                headers: Self.telegrafHeaders(fixture.operatorToken),
                body: try F.gzip(body)
            ) { response in
                #expect(response.status == .badRequest)
                let error = try F.json(response)
                #expect(error["code"] as? String == "invalid")
                #expect((error["message"] as? String)?.contains("line 2") == true, "\(error)")
            }
            #expect(fixture.store.latest(device: try DeviceID(validating: "dev-1")).isEmpty)
            try await client.execute(uri: "/api/v1/dead-letters", method: .get, headers: F.bearer(fixture.viewerToken))
            {
                response in
                #expect(response.status == .ok)
                let letters = try F.json(response)["deadLetters"] as? [[String: Any]] ?? []
                #expect(letters.count == 1)
                #expect(letters.first?["topic"] as? String == "http:/api/v2/write")
                #expect((letters.first?["reason"] as? String)?.contains("line 2") == true)
                #expect((letters.first?["payload"] as? String)?.contains("oops") == true)
            }
        }
    }

    @Test("a line without a device tag is 400: there is no default device over HTTP")
    func missingDevice() async throws {
        try await F.run { fixture, client in
            try await client.execute(
                uri: "/api/v2/write",
                method: .post,
                headers: F.bearer(fixture.operatorToken),
                body: ByteBuffer(string: "cpu usage_idle=1\n")
            ) { #expect($0.status == .badRequest) }
        }
    }

    @Test("an overloaded store is 503 with Retry-After in InfluxDB's shape, and nothing is stored")
    func overloaded() async throws {
        // A pending bound of 1 sample refuses any write of 2 at enqueue, deterministically.
        try await F.run(maxPendingSamples: 1) { fixture, client in
            try await client.execute(
                uri: "/api/v2/write?precision=ms",
                method: .post,
                headers: F.bearer(fixture.operatorToken),
                body: ByteBuffer(string: "m,host=dev-3 a=1,b=2 \(F.now)\n")
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                let parsed = try F.json(response)
                #expect(parsed["code"] as? String == "unavailable")
            }
            #expect(fixture.store.latest(device: try DeviceID(validating: "dev-3")).isEmpty)
        }
    }

    @Test("bad precision, unknown encoding, corrupt gzip and a gzip bomb are refused")
    func refusedBodies() async throws {
        try await F.run { fixture, client in
            let auth = F.bearer(fixture.operatorToken)
            try await client.execute(
                uri: "/api/v2/write?precision=h",
                method: .post,
                headers: auth,
                body: ByteBuffer(string: "cpu,host=a v=1\n")
            ) { response in
                #expect(response.status == .badRequest)
                let parsed = try F.json(response)
                #expect((parsed["message"] as? String)?.contains("'precision'") == true)
            }
            var brotli = auth
            brotli[.contentEncoding] = "br"
            try await client.execute(
                uri: "/api/v2/write",
                method: .post,
                headers: brotli,
                body: ByteBuffer(string: "x")
            ) {
                #expect($0.status == .unsupportedMediaType)
            }
            var gzip = auth
            gzip[.contentEncoding] = "gzip"
            try await client.execute(
                uri: "/api/v2/write",
                method: .post,
                headers: gzip,
                body: ByteBuffer(string: "no gzip")
            ) {
                #expect($0.status == .badRequest)
            }
            // 11 MiB of zeros compress to about 11 KiB: over the 10 MiB decompressed limit.
            let bomb = try F.gzip(String(repeating: "0", count: 11 << 20))
            try await client.execute(uri: "/api/v2/write", method: .post, headers: gzip, body: bomb) { response in
                #expect(response.status == .contentTooLarge)
                // Stopped while inflating, not after: the decoder's own size check words it differently.
                let parsed = try F.json(response)
                #expect((parsed["message"] as? String)?.contains("after decompression") == true, "\(parsed)")
            }
        }
    }
}
