import Foundation
import ReflexCore
import ReflexStore
import Testing

@Suite struct RegistryTests {
    @Test("an added device is listed, shown and authenticates with its token") func addShowAuthenticate() async throws {
        try await withRegistry { registry, _ in
            let id = try deviceID("pump-7")
            let (device, token) = try await registry.addDevice(
                id: id,
                name: "Pump 7",
                type: "pump",
                labels: ["site": "plant-1"]
            )
            #expect(token.hasPrefix("rfx_dev_"))
            #expect(token.count == "rfx_dev_".count + 43)  // 32 bytes, base64url without padding
            #expect(device.name == "Pump 7" && device.type == "pump" && device.isEnabled)
            #expect(try await registry.device(id) == device)
            #expect(try await registry.devices() == [device])
            #expect(try await registry.authenticate(device: id, token: token) == device)
        }
    }

    @Test("name and type default to the id and generic") func defaults() async throws {
        try await withRegistry { registry, _ in
            let (device, _) = try await registry.addDevice(id: try deviceID("s1"))
            #expect(device.name == "s1")
            #expect(device.type == "generic")
            #expect(device.labels.isEmpty)
        }
    }

    @Test("adding an id twice fails and keeps the first token") func duplicate() async throws {
        try await withRegistry { registry, _ in
            let id = try deviceID("pump-7")
            let (_, token) = try await registry.addDevice(id: id)
            let error = await #expect(throws: RegistryError.self) { try await registry.addDevice(id: id) }
            #expect(error?.code == .deviceExists)
            #expect(error?.message.contains("'pump-7' is already registered") == true)
            #expect(try await registry.authenticate(device: id, token: token) != nil)
        }
    }

    @Test("list filters by type and by label, sorted by id") func filters() async throws {
        try await withRegistry { registry, _ in
            _ = try await registry.addDevice(id: try deviceID("b"), type: "pump", labels: ["site": "x"])
            _ = try await registry.addDevice(id: try deviceID("a"), type: "pump", labels: ["site": "y"])
            _ = try await registry.addDevice(id: try deviceID("c"), type: "fan", labels: ["site": "x"])
            #expect(try await registry.devices().map(\.id.rawValue) == ["a", "b", "c"])
            #expect(try await registry.devices(type: "pump").map(\.id.rawValue) == ["a", "b"])
            #expect(try await registry.devices(label: ("site", "x")).map(\.id.rawValue) == ["b", "c"])
            #expect(try await registry.devices(type: "pump", label: ("site", "x")).map(\.id.rawValue) == ["b"])
            #expect(try await registry.devices(type: "valve").isEmpty)
        }
    }

    @Test("an unknown device is nil and cannot be changed") func unknown() async throws {
        try await withRegistry { registry, _ in
            let id = try deviceID("ghost")
            #expect(try await registry.device(id) == nil)
            #expect(try await registry.verify(device: id, token: "rfx_dev_x") == .unknownDevice)
            let disable = await #expect(throws: RegistryError.self) { try await registry.setEnabled(id, false) }
            #expect(disable?.code == .deviceNotFound)
            let rotate = await #expect(throws: RegistryError.self) { try await registry.rotateToken(id) }
            #expect(rotate?.code == .deviceNotFound)
        }
    }

    @Test("a wrong token, another device's token or an empty one is refused") func wrongTokens() async throws {
        try await withRegistry { registry, _ in
            let a = try deviceID("a")
            let (_, tokenA) = try await registry.addDevice(id: a)
            let (_, tokenB) = try await registry.addDevice(id: try deviceID("b"))
            for wrong in [tokenB, "", String(tokenA.dropLast()), tokenA + "x", tokenA.uppercased()] {
                #expect(try await registry.authenticate(device: a, token: wrong) == nil)
                #expect(try await registry.verify(device: a, token: wrong) == .wrongToken)
            }
        }
    }

    @Test("a disabled device is refused with its right token, and enabled again") func disable() async throws {
        try await withRegistry { registry, _ in
            let id = try deviceID("pump-7")
            let (_, token) = try await registry.addDevice(id: id)
            #expect(try await registry.authenticate(device: id, token: token) != nil)  // now cached
            try await registry.setEnabled(id, false)
            #expect(try await registry.device(id)?.isEnabled == false)
            #expect(try await registry.authenticate(device: id, token: token) == nil)
            guard case .disabled = try await registry.verify(device: id, token: token) else {
                Issue.record("expected .disabled")
                return
            }
            try await registry.setEnabled(id, true)
            #expect(try await registry.authenticate(device: id, token: token) != nil)
        }
    }

    @Test("rotating a token makes the old one fail and the new one work") func rotate() async throws {
        try await withRegistry { registry, _ in
            let id = try deviceID("pump-7")
            let (_, old) = try await registry.addDevice(id: id)
            #expect(try await registry.authenticate(device: id, token: old) != nil)
            let new = try await registry.rotateToken(id)
            #expect(new != old && new.hasPrefix("rfx_dev_"))
            #expect(try await registry.authenticate(device: id, token: old) == nil)
            #expect(try await registry.authenticate(device: id, token: new) != nil)
            #expect(try await registry.device(id)?.tokenRotatedAt != nil)
        }
    }

    @Test("the file holds no token, only salted hashes") func tokensNotStored() async throws {
        try await withRegistry { registry, directory in
            let (_, deviceToken) = try await registry.addDevice(id: try deviceID("pump-7"))
            let (_, operatorToken) = try await registry.createOperatorToken(name: "alice", role: .admin)
            let rotated = try await registry.rotateToken(try deviceID("pump-7"))
            var bytes = Data()
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(files.contains("registry.sqlite"))
            for file in files where file.hasPrefix("registry.sqlite") {  // the database, its WAL and shm
                bytes.append(try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(file)))
            }
            #expect(bytes.range(of: Data("pump-7".utf8)) != nil)  // the file is readable: ids are there
            for token in [deviceToken, operatorToken, rotated] {
                #expect(bytes.range(of: Data(token.utf8)) == nil)
                // The random part alone (base64url may itself contain '_').
                let secret = String(token.dropFirst(token.hasPrefix("rfx_dev_") ? 8 : 7))
                #expect(secret.count == 43)
                #expect(bytes.range(of: Data(secret.utf8)) == nil)
            }
        }
    }

    @Test("tokens are unique") func uniqueTokens() async throws {
        try await withRegistry { registry, _ in
            var tokens: Set<String> = []
            for index in 0..<20 {
                tokens.insert(try await registry.addDevice(id: try deviceID("d\(index)")).token)
            }
            #expect(tokens.count == 20)
        }
    }

    @Test("data survives reopening the file") func reopen() async throws {
        try await withRegistry { registry, directory in
            let id = try deviceID("pump-7")
            let (device, token) = try await registry.addDevice(id: id, labels: ["a": "b"])
            let reopened = try SQLiteDeviceRegistry(dataDirectory: directory)
            #expect(try await reopened.device(id) == device)
            #expect(try await reopened.authenticate(device: id, token: token) == device)
        }
    }

    @Test("an empty label key is rejected") func emptyLabelKey() async throws {
        try await withRegistry { registry, _ in
            let error = await #expect(throws: RegistryError.self) {
                try await registry.addDevice(id: try deviceID("x"), labels: ["": "v"])
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("a file that is not a database gives a storage error naming it") func corruptFile() throws {
        let directory = NSTemporaryDirectory() + "reflex-registry-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: directory + "/registry.sqlite"))
        let error = #expect(throws: RegistryError.self) { try SQLiteDeviceRegistry(dataDirectory: directory) }
        #expect(error?.code == .storage)
        #expect(error?.message.contains("registry.sqlite") == true)
    }
}
