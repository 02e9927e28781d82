import Foundation
import ReflexCore
import ReflexStore

/// A fresh directory with a registry in it for one test, removed afterwards.
func withRegistry<T>(
    _ body: (SQLiteDeviceRegistry, String) async throws -> T
) async throws -> T {
    let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("reflex-registry-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let registry = try SQLiteDeviceRegistry(dataDirectory: directory)
    return try await body(registry, directory)
}

/// A device id that is known to be valid.
func deviceID(_ raw: String) throws -> DeviceID {
    try DeviceID(validating: raw)
}
