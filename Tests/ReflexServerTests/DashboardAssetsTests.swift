import Foundation
import Testing

@testable import ReflexNode
@testable import ReflexServer

@Suite("Dashboard assets: embedded, up to date, complete")
struct DashboardAssetsTests {
    /// `Sources/ReflexServer/Dashboard/Assets/`, found from this file's path.
    static let assetsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/ReflexServer/Dashboard/Assets")

    static func filesOnDisk() throws -> [String: String] {
        var files: [String: String] = [:]
        let base = assetsDirectory.standardizedFileURL.path
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return files }
        for case let relative as String in enumerator {
            let path = base + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                !(relative as NSString).lastPathComponent.hasPrefix(".")
            else { continue }
            files[relative] = try String(contentsOfFile: path, encoding: .utf8)
        }
        return files
    }

    @Test("the generated file matches Dashboard/Assets (run scripts/embed-dashboard.py after editing an asset)")
    func generatedFileIsUpToDate() throws {
        let onDisk = try Self.filesOnDisk()
        #expect(!onDisk.isEmpty, "no assets found under \(Self.assetsDirectory.path)")
        let embedded = Dictionary(DashboardAssets.generated.map { ($0.path, $0.text) }, uniquingKeysWith: { a, _ in a })
        #expect(
            Set(onDisk.keys) == Set(embedded.keys),
            "files differ from the embedded ones: run scripts/embed-dashboard.py"
        )
        for (path, text) in onDisk {
            // Compared as a Boolean so that a failure names the file instead of printing it whole.
            let isCurrent = embedded[path] == text
            #expect(isCurrent, "\(path) changed since it was embedded: run scripts/embed-dashboard.py")
        }
    }

    @Test("every asset has a content type and a distinct quoted ETag")
    func contentTypesAndETags() {
        for asset in DashboardAssets.generated {
            #expect(!asset.contentType.isEmpty)
            #expect(asset.etag.hasPrefix("\"") && asset.etag.hasSuffix("\"") && asset.etag.count == 22)
        }
        #expect(Set(DashboardAssets.generated.map(\.etag)).count == DashboardAssets.generated.count)
        #expect(DashboardAssets.byPath["index.html"]?.asset.contentType == "text/html; charset=utf-8")
        #expect(DashboardAssets.byPath["js/app.js"]?.asset.contentType == "text/javascript; charset=utf-8")
        #expect(DashboardAssets.byPath["app.css"]?.asset.contentType == "text/css; charset=utf-8")
    }

    @Test("every file the page and its modules refer to is embedded, and nothing comes from elsewhere")
    func referencesResolve() throws {
        for asset in DashboardAssets.generated where asset.path.hasSuffix(".html") || asset.path.hasSuffix(".js") {
            let directory = (asset.path as NSString).deletingLastPathComponent
            for reference in Self.references(in: asset.text) {
                #expect(!reference.contains("://"), "\(asset.path) loads \(reference) from another origin")
                let target: String
                if reference.hasPrefix("/assets/") {
                    target = String(reference.dropFirst("/assets/".count))
                } else if reference.hasPrefix("./") {
                    target =
                        directory.isEmpty ? String(reference.dropFirst(2)) : directory + "/" + reference.dropFirst(2)
                } else {
                    continue
                }
                #expect(
                    DashboardAssets.byPath[target] != nil,
                    "\(asset.path) refers to \(reference), which is not embedded"
                )
            }
        }
    }

    /// `src="..."`, `href="..."` and `from "..."` targets.
    static func references(in text: String) -> [String] {
        var found: [String] = []
        for prefix in ["src=\"", "href=\"", "from \""] {
            var rest = text[...]
            while let start = rest.range(of: prefix) {
                rest = rest[start.upperBound...]
                guard let end = rest.firstIndex(of: "\"") else { break }
                let value = String(rest[..<end])
                if value.hasPrefix("/assets/") || value.hasPrefix("./") || value.contains("://") { found.append(value) }
                rest = rest[end...]
            }
        }
        return found
    }
}
