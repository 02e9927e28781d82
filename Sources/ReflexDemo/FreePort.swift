#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
import ReflexNode
import ReflexServer
#endif

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick for port 0).
enum FreePort {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func find() throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
        guard bound else { throw Failure(description: "cannot bind a socket to find a free port") }
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard named else { throw Failure(description: "cannot read the port the kernel picked") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
