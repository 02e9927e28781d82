import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ReflexNode
@testable import ReflexServer

@Suite("Dashboard routes: static files and whoami")
struct DashboardRoutesTests {
    typealias F = DashboardTestFixture

    @Test("GET / serves the page without a token, with ETag, no-cache and a same-origin CSP")
    func index() async throws {
        try await F.run { _, client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.eTag] == DashboardAssets.byPath["index.html"]?.asset.etag)
                #expect(response.headers[.cacheControl] == "no-cache")
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
                let body = String(buffer: response.body)
                #expect(body.contains("<title>Reflex</title>"))
                #expect(body.contains("/assets/js/app.js"))
            }
        }
    }

    @Test("a matching If-None-Match is 304 without a body; a stale one gets the file")
    func conditional() async throws {
        try await F.run { _, client in
            let etag = try #require(DashboardAssets.byPath["js/app.js"]?.asset.etag)
            try await client.execute(uri: "/assets/js/app.js", method: .get, headers: [.ifNoneMatch: etag]) {
                response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
                #expect(response.headers[.eTag] == etag)
            }
            try await client.execute(uri: "/assets/js/app.js", method: .get, headers: [.ifNoneMatch: "\"old\""]) {
                #expect($0.status == .ok)
                #expect($0.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect($0.body.readableBytes > 100)
            }
        }
    }

    @Test("every embedded asset is served under /assets/ with its content type")
    func allAssets() async throws {
        try await F.run { _, client in
            for asset in DashboardAssets.generated {
                try await client.execute(uri: "/assets/" + asset.path, method: .get) { response in
                    #expect(response.status == .ok, "\(asset.path)")
                    #expect(response.headers[.contentType] == asset.contentType)
                    #expect(String(buffer: response.body) == asset.text)
                }
            }
        }
    }

    @Test("an unknown asset is a JSON 404 even without a token; other paths still need one")
    func unknownAsset() async throws {
        try await F.run { _, client in
            for uri in ["/assets/nope.js", "/assets/", "/assets/../registry.sqlite"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .notFound, "\(uri)")
                    let parsed = try HTTPTestFixture.error(response)
                    #expect(parsed.code == "not_found")
                }
            }
            try await client.execute(uri: "/api/v1/fleet", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/", method: .post) { #expect($0.status == .unauthorized) }
        }
    }

    @Test("whoami names the token and its role; without a token it is 401")
    func whoami() async throws {
        try await F.run { fixture, client in
            for (token, name, role) in [
                (fixture.base.viewerToken, "view", "viewer"),
                (fixture.base.operatorToken, "op", "operator"),
                (fixture.base.adminToken, "adm", "admin"),
            ] {
                try await client.execute(uri: "/api/v1/whoami", method: .get, headers: HTTPTestFixture.bearer(token)) {
                    #expect($0.status == .ok)
                    let body = try HTTPTestFixture.json($0)
                    #expect(body["name"] as? String == name)
                    #expect(body["role"] as? String == role)
                }
            }
            try await client.execute(uri: "/api/v1/whoami", method: .get) { #expect($0.status == .unauthorized) }
        }
    }
}
