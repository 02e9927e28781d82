import Foundation
import Testing

@testable import ReflexMQTT

@Suite struct FileSessionStoreTests {
    /// A fresh directory per test, removed afterwards.
    private func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent(
            "reflex-sessions-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(directory)
    }

    private static func session(_ clientID: String, messages: Int = 1) -> PersistedSession {
        PersistedSession(
            clientID: clientID,
            protocolVersion: 5,
            expiryIntervalSeconds: 3600,
            disconnectedAt: Date(timeIntervalSinceReferenceDate: 785_000_000.123_456),
            subscriptions: [
                PersistedSubscription(
                    filter: "$share/workers/devices/+/telemetry",
                    qos: 1,
                    noLocal: true,
                    retainAsPublished: false,
                    retainHandling: 2,
                    subscriptionIdentifier: 7
                )
            ],
            messages: (0..<messages).map { message(clientID, index: $0) },
            incomingQoS2PacketIDs: [3, 9]
        )
    }

    private static func message(_ clientID: String, index: Int) -> PersistedMessage {
        let phase: PersistedMessage.Phase = index == 0 ? .awaitingAck : .queued
        let payload = Data([0, 1, 2, 255, UInt8(truncatingIfNeeded: index)])
        return PersistedMessage(
            packetID: UInt16(index + 1),
            phase: phase,
            topic: "devices/\(clientID)/commands/reboot",
            payload: payload,
            qos: 2,
            retain: false,
            expiresAt: Date(timeIntervalSince1970: 1_764_145_200.5),
            contentType: "application/json",
            responseTopic: "r/\(clientID)",
            correlationData: Data("c".utf8),
            payloadFormatIndicator: 1,
            userProperties: [],
            subscriptionIdentifiers: [7]
        )
    }

    @Test("retained changes apply to the retained file: upserts replace, deletions remove, the rest stays")
    func retainedChanges() async throws {
        try await withTemporaryDirectory { directory in
            let store = FileSessionStore(path: (directory as NSString).appendingPathComponent("sessions.json"))
            func retained(_ topic: String, _ index: Int) -> PersistedMessage {
                var message = Self.message("d", index: index)
                message.topic = topic
                message.owner = PersistedOwner(principal: "d", roles: ["device"])
                return message
            }
            try await store.saveRetainedMessages([retained("a", 1), retained("b", 2)])
            try await store.saveRetainedChanges(
                RetainedChanges(upserts: [retained("b", 3), retained("c", 4)], deletions: ["a"])
            )
            let loaded = try await store.loadRetainedMessages().sorted { $0.topic < $1.topic }
            #expect(loaded == [retained("b", 3), retained("c", 4)])
        }
    }

    @Test("saved sessions load back exactly") func roundTrip() async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let store = FileSessionStore(path: "\(directory)/sessions.json")
            let sessions = [Self.session("pump-7", messages: 3), Self.session("valve-2", messages: 0)]
            try await store.saveSessions(sessions)
            #expect(try await store.loadSessions() == sessions)
        }
    }

    @Test("an absent file loads as no sessions") func absentFile() async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let store = FileSessionStore(path: "\(directory)/mqtt/sessions.json")
            #expect(try await store.loadSessions() == [])
        }
    }

    @Test("a save creates missing directories") func createsDirectories() async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let store = FileSessionStore(path: "\(directory)/data/mqtt/sessions.json")
            try await store.saveSessions([Self.session("a")])
            #expect(try await store.loadSessions() == [Self.session("a")])
        }
    }

    @Test(
        "an unreadable snapshot is an error that names the file and how to recover",
        arguments: [
            ("not json at all", "the session snapshot is corrupt (not a JSON object)"),
            ("{\"sessions\": []}", "the session snapshot is corrupt (no formatVersion)"),
            (
                "{\"formatVersion\": 1, \"savedAt\": 0, \"sessions\": [{\"clientID\": 5}]}",
                "the session snapshot is corrupt ("
            ),
        ]
    )
    func corruptFile(contents: String, expectedStart: String) async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let path = "\(directory)/sessions.json"
            try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
            let error = try await #require(throws: FileSessionStoreError.self) {
                try await FileSessionStore(path: path).loadSessions()
            }
            #expect(error.path == path)
            #expect(error.message.hasPrefix(expectedStart))
            #expect(error.message.hasSuffix("move it away (mv '\(path)' '\(path).corrupt') and restart"))
            #expect(error.description.hasPrefix("session store '\(path)': "))
        }
    }

    @Test("a snapshot from a newer format is refused, not misread") func newerFormat() async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let path = "\(directory)/sessions.json"
            try Data("{\"formatVersion\": 2, \"sessions\": []}".utf8).write(to: URL(fileURLWithPath: path))
            let error = try await #require(throws: FileSessionStoreError.self) {
                try await FileSessionStore(path: path).loadSessions()
            }
            #expect(error.message.contains("format version 2, but this build reads up to 1"))
        }
    }

    @Test("the file records its format version") func formatVersionInFile() async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let path = "\(directory)/sessions.json"
            try await FileSessionStore(path: path).saveSessions([])
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
            let dictionary = try #require(object as? [String: Any])
            #expect(dictionary["formatVersion"] as? Int == 1)
            #expect(dictionary["sessions"] as? [Any] != nil)
        }
    }

    @Test("a save replaces the whole file and leaves no temporary files") func replacesWhole() async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let store = FileSessionStore(path: "\(directory)/sessions.json")
            try await store.saveSessions((0..<50).map { Self.session("client-\($0)", messages: 20) })
            try await store.saveSessions([Self.session("only")])
            #expect(try await store.loadSessions() == [Self.session("only")])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["sessions.json"])
        }
    }

    @Test("loading removes temporary files a crashed save left behind") func staleTemporaryFiles() async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let store = FileSessionStore(path: "\(directory)/sessions.json")
            try await store.saveSessions([Self.session("kept")])
            let stale = "\(directory)/.sessions.json.1f2e3d.tmp"
            let unrelated = "\(directory)/.other.json.1f2e3d.tmp"
            #expect(FileManager.default.createFile(atPath: stale, contents: Data("{\"formatVer".utf8)))
            #expect(FileManager.default.createFile(atPath: unrelated, contents: Data()))
            #expect(try await store.loadSessions() == [Self.session("kept")])
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == [
                    ".other.json.1f2e3d.tmp", "sessions.json",
                ]
            )
        }
    }

    @Test("a failed write keeps the previous snapshot") func failedWriteKeepsPrevious() async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let path = "\(directory)/sessions.json"
            let store = FileSessionStore(path: path) { _ in "blocked.tmp" }
            try await store.saveSessions([Self.session("before")])
            // A directory where the temporary file must go makes the next save fail, even as root.
            try FileManager.default.createDirectory(
                atPath: "\(directory)/blocked.tmp",
                withIntermediateDirectories: false
            )
            let error = try await #require(throws: FileSessionStoreError.self) {
                try await store.saveSessions([Self.session("after")])
            }
            #expect(error.message.contains("open '\(directory)/blocked.tmp' failed"))
            #expect(try await store.loadSessions() == [Self.session("before")])
        }
    }

    @Test("concurrent saves leave one complete snapshot") func concurrentSaves() async throws {
        try await withTemporaryDirectory { (directory: String) async throws in
            let store = FileSessionStore(path: "\(directory)/sessions.json")
            let snapshots = (0..<8).map { index in [Self.session("writer-\(index)", messages: index)] }
            try await withThrowingTaskGroup { group in
                for snapshot in snapshots {
                    group.addTask { try await store.saveSessions(snapshot) }
                }
                try await group.waitForAll()
            }
            let loaded = try await store.loadSessions()
            #expect(snapshots.contains(loaded))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["sessions.json"])
        }
    }
}
