import CompressNIO
import HTTPTypes
import Hummingbird
import NIOCore

/// Reads a write request's body: `Content-Encoding: gzip` or identity, at most `limit` bytes
/// both on the wire and after decompression.
///
/// The decompressed size is bounded while inflating (CompressNIO stops at `maxSize`), so a
/// small gzip bomb cannot make the node allocate more than `limit` bytes.
enum WriteBody {
    /// The body's bytes, decompressed.
    /// - Throws: ``APIError`` 413 past the limit, 415 for another content encoding, 400 for a
    ///   corrupt gzip stream.
    static func read(_ request: Request, limit: Int) async throws -> ByteBuffer {
        let encoding = (request.headers[.contentEncoding] ?? "identity").trimmingSpaces.lowercased()
        guard encoding == "gzip" || encoding == "identity" || encoding.isEmpty else {
            throw APIError(
                .unsupportedMediaType,
                code: "unsupported_encoding",
                message: "Content-Encoding '\(encoding.prefix(40))' is not supported; send gzip or identity"
            )
        }
        var body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge(limit)
        }
        guard encoding == "gzip" else { return body }
        return try gunzip(&body, limit: limit)
    }

    /// Inflates `body` through a 64 KiB window, counting the output: at most `limit` bytes are
    /// ever kept, however well the input compresses.
    static func gunzip(_ body: inout ByteBuffer, limit: Int) throws -> ByteBuffer {
        let decompressor = CompressionAlgorithm.gzip().decompressor
        decompressor.window = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        var output = ByteBufferAllocator().buffer(capacity: min(limit, body.readableBytes * 4))
        do {
            try decompressor.startStream()
            try body.decompressStream(with: decompressor) { window in
                guard output.readableBytes + window.readableBytes <= limit else { throw tooLarge(limit) }
                var window = window
                output.writeBuffer(&window)
            }
            try decompressor.finishStream()
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, code: "invalid", message: "the gzip body is corrupt or truncated")
        }
        return output
    }

    private static func tooLarge(_ limit: Int) -> APIError {
        APIError(
            .contentTooLarge,
            code: "too_large",
            message: "the request body is over \(limit) bytes (after decompression); send smaller batches"
        )
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        let start = firstIndex { $0 != " " } ?? endIndex
        let end = lastIndex { $0 != " " }.map { index(after: $0) } ?? start
        return self[start..<max(start, end)]
    }
}
