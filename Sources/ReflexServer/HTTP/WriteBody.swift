import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import ReflexNode

/// Reads a write request's body: `Content-Encoding: gzip` or identity, at most `limit` bytes
/// both on the wire and after decompression.
///
/// The decompressed size is bounded while inflating (``GzipInflater`` stops at `limit`), so a
/// small gzip bomb cannot make the node allocate more than `limit` bytes; concatenated gzip
/// members are decoded in order, as gzip and Telegraf do.
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
        } catch let error as HTTPParserError {
            // The body stopped: the client closed, or http.bodyTimeout closed the connection.
            // The client's doing, so a 400 (not a 500 logged as the node's error).
            throw APIError(
                .badRequest,
                code: "invalid",
                message: "the request body could not be read (\(error)); send it whole within http.bodyTimeout"
            )
        }
        guard encoding == "gzip" else { return body }
        return try gunzip(&body, limit: limit)
    }

    /// Inflates `body`, every gzip member of it in order, keeping at most `limit` bytes however
    /// well the input compresses, within `timeBudget` (see ``GzipInflater``).
    /// - Throws: ``APIError`` 413 past the limit, 400 for a corrupt or truncated member or bytes
    ///   after the end of the stream that are not another member (the message names the byte
    ///   offset), 503 past the time budget.
    static func gunzip(_ body: inout ByteBuffer, limit: Int, timeBudget: Duration = .seconds(5)) throws -> ByteBuffer {
        do {
            let output = try GzipInflater(limit: limit, timeBudget: timeBudget).inflate(body)
            body.moveReaderIndex(forwardBy: body.readableBytes)
            return output
        } catch {
            switch error {
            case .tooLarge:
                throw tooLarge(limit)
            case .timeBudgetExceeded:
                throw APIError(.serviceUnavailable, code: "unavailable", message: "\(error); send smaller batches")
            case .corrupt, .truncated, .trailingBytes, .internalError:
                throw APIError(.badRequest, code: "invalid", message: "\(error)")
            }
        }
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
