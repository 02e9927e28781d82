import Foundation
import ReflexStore
import Testing

/// The data directory is its owner's only: an existing one is tightened, links are left alone.
@Suite struct PrivateDataDirectoryTests {
    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
    }

    @Test("a 0755 directory and 0644 databases become 0700 and 0600, and the changes are reported")
    func tightens() async throws {
        try await SampleStoreFixtures.withTemporaryDirectory { root in
            let directory = root + "/data"
            let manager = FileManager.default
            try manager.createDirectory(atPath: directory + "/mqtt", withIntermediateDirectories: true)
            for file in ["samples.sqlite", "samples.sqlite-wal", "registry.sqlite", "mqtt/sessions.json"] {
                #expect(manager.createFile(atPath: directory + "/" + file, contents: Data("x".utf8)))
                try manager.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/" + file)
            }
            try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
            try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory + "/mqtt")
            let outside = root + "/outside.txt"
            #expect(manager.createFile(atPath: outside, contents: Data()))
            try manager.setAttributes([.posixPermissions: 0o644], ofItemAtPath: outside)
            try manager.createSymbolicLink(atPath: directory + "/link", withDestinationPath: outside)

            let changed = PrivateDataDirectory.tighten(directory)
            #expect(changed.count == 6)
            #expect(changed.first?.path == directory && changed.first?.oldMode == 0o755)
            #expect(try Self.mode(directory) == 0o700)
            #expect(try Self.mode(directory + "/mqtt") == 0o700)
            for file in ["samples.sqlite", "samples.sqlite-wal", "registry.sqlite", "mqtt/sessions.json"] {
                #expect(try Self.mode(directory + "/" + file) == 0o600, "\(file)")
            }
            #expect(try Self.mode(outside) == 0o644)  // not followed through the link
            #expect(PrivateDataDirectory.tighten(directory).isEmpty)  // nothing left to change
            #expect(PrivateDataDirectory.tighten(root + "/missing").isEmpty)
        }
    }
}
