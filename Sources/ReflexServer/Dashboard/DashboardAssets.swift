import NIOCore
import ReflexNode

/// One file of the dashboard, compiled into the binary.
struct DashboardAsset: Sendable {
    /// The path under `Dashboard/Assets/`, e.g. `index.html` or `js/app.js`.
    let path: String
    /// The `Content-Type` header.
    let contentType: String
    /// A strong ETag (quoted) derived from the content by `scripts/embed-dashboard.py`.
    let etag: String
    /// The content (every asset is UTF-8 text).
    let text: String
}

/// The dashboard's static files (HTML, CSS, JavaScript, SVG), embedded by
/// `scripts/embed-dashboard.py` into `DashboardAssets+Generated.swift` from
/// `Sources/ReflexServer/Dashboard/Assets/` so that the binary serves the dashboard offline,
/// with no build step and nothing fetched at run time. Edit the files under `Assets/`, then run
/// the script; a test fails while the generated file is out of date.
enum DashboardAssets {
    /// The assets by their path under `Assets/`, with their bodies ready to send.
    static let byPath: [String: (asset: DashboardAsset, body: ByteBuffer)] = {
        var table: [String: (asset: DashboardAsset, body: ByteBuffer)] = [:]
        for asset in generated {
            table[asset.path] = (asset, ByteBuffer(string: asset.text))
        }
        return table
    }()

    /// The asset a URL path names: `/` and `/index.html` are the page, `/assets/PATH` the file
    /// `PATH`; nil for anything else or an unknown file.
    static func asset(forURLPath path: String) -> (asset: DashboardAsset, body: ByteBuffer)? {
        switch path {
        case "/", "/index.html":
            return byPath["index.html"]
        default:
            guard path.hasPrefix(assetPrefix) else { return nil }
            return byPath[String(path.dropFirst(assetPrefix.count))]
        }
    }

    /// Whether `path` belongs to the dashboard's static files (served without a token).
    static func isStaticPath(_ path: String) -> Bool {
        path == "/" || path == "/index.html" || path.hasPrefix(assetPrefix)
    }

    static let assetPrefix = "/assets/"
}
