import CompressNIO
import NIOCore
import ReflexNode

/// Inflates a gzip body of one or more members (`cat a.gz b.gz`, as gzip and Telegraf accept),
/// under a size budget and a time budget, with a loop that cannot spin.
///
/// CompressNIO's `decompressStream(with:process:)` loops `while readableBytes > 0`; after the
/// end of a gzip member zlib returns `Z_STREAM_END` without consuming anything, so bytes after
/// the end of the stream made it loop forever, pinning a thread of the cooperative pool. This
/// type drives `ZlibDecompressor` itself: every call must consume input or produce output, and a
/// call that does neither means the member has ended (or the input is truncated), so the loop
/// stops. After a member, the next bytes must start another member (`1f 8b`), else they are
/// refused with their offset.
///
/// - Complexity: O(input + output); each step handles at most one 64 KiB window of output.
struct GzipInflater<C: Clock> where C.Duration == Duration {
    /// The most bytes of output kept, over all members.
    var limit: Int
    /// How long one body may take to inflate.
    var timeBudget: Duration = .seconds(5)
    /// The clock that measures `timeBudget`.
    var clock: C
    /// The output window size.
    var windowBytes = 64 * 1024

    /// The decompressed bytes of every member of `body`, in order.
    /// - Throws: ``GzipInflateError``.
    func inflate(_ body: ByteBuffer) throws(GzipInflateError) -> ByteBuffer {
        var input = body
        let total = input.readableBytes
        var output = ByteBufferAllocator().buffer(capacity: min(limit, max(total * 4, 256)))
        guard total > 0 else { return output }
        let deadline = clock.now.advanced(by: timeBudget)
        var window = ByteBufferAllocator().buffer(capacity: windowBytes)
        let decompressor: ZlibDecompressor
        do {
            decompressor = try ZlibDecompressor(algorithm: .gzip)
        } catch {
            throw .internalError("\(error)")
        }
        var member = 1
        var memberStart = 0
        while true {
            guard clock.now < deadline else { throw .timeBudgetExceeded(budget: timeBudget) }
            let readBefore = input.readableBytes
            let writtenBefore = window.readableBytes
            let step: Step
            do {
                try decompressor.inflate(from: &input, to: &window)
                step = .returned
            } catch let error as CompressNIOError where error == .bufferOverflow {
                step = .outputFull
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                step = .needsInput
            } catch let error as CompressNIOError where error == .corruptData {
                throw .corrupt(member: member, offset: total - input.readableBytes)
            } catch {
                throw .internalError("\(error)")
            }
            let progressed = input.readableBytes < readBefore || window.readableBytes > writtenBefore
            switch step {
            case .outputFull:
                guard window.readableBytes > 0 else { throw .internalError("no room in an empty window") }
                try append(&window, to: &output)
            case .needsInput:
                // zlib's Z_BUF_ERROR with no input left: the member is not finished.
                throw .truncated(member: member, offset: memberStart)
            case .returned where input.readableBytes == 0 && progressed:
                // Z_OK having used all input, or Z_STREAM_END exactly at the end: one more call
                // with no input tells which (Z_STREAM_END again, or Z_BUF_ERROR).
                continue
            case .returned:
                // Z_STREAM_END: with input left (Z_OK stops only when the input or the output
                // runs out), or with nothing left and no progress on this call.
                try append(&window, to: &output)
                guard input.readableBytes > 0 else { return output }
                let offset = total - input.readableBytes
                guard input.readableBytes >= 2, input.getInteger(at: input.readerIndex, as: UInt16.self) == 0x1f8b
                else {
                    throw .trailingBytes(offset: offset, count: input.readableBytes)
                }
                do {
                    try decompressor.reset()
                } catch {
                    throw .internalError("\(error)")
                }
                member += 1
                memberStart = offset
            }
        }
    }

    private func append(_ window: inout ByteBuffer, to output: inout ByteBuffer) throws(GzipInflateError) {
        guard output.readableBytes + window.readableBytes <= limit else { throw .tooLarge(limit: limit) }
        output.writeBuffer(&window)
        window.clear()
    }

    private enum Step {
        case returned, outputFull, needsInput
    }
}

extension GzipInflater where C == ContinuousClock {
    /// An inflater on the system's monotonic clock.
    init(limit: Int, timeBudget: Duration = .seconds(5)) {
        self.init(limit: limit, timeBudget: timeBudget, clock: ContinuousClock())
    }
}

/// Why a gzip body could not be inflated; offsets count bytes of the compressed body from 0.
enum GzipInflateError: Error, Equatable, CustomStringConvertible {
    /// The output would pass `limit` bytes.
    case tooLarge(limit: Int)
    /// Member `member` (from 1) is corrupt at or before `offset`.
    case corrupt(member: Int, offset: Int)
    /// Member `member`, which starts at `offset`, ends before its gzip trailer.
    case truncated(member: Int, offset: Int)
    /// `count` bytes from `offset`, after the end of a gzip member, do not start another member.
    case trailingBytes(offset: Int, count: Int)
    /// Inflating took longer than the budget.
    case timeBudgetExceeded(budget: Duration)
    /// zlib failed for another reason (out of memory).
    case internalError(String)

    var description: String {
        switch self {
        case .tooLarge(let limit):
            "the gzip body inflates to more than \(limit) bytes"
        case .corrupt(let member, let offset):
            "gzip member \(member) is corrupt at byte \(offset) of the body"
        case .truncated(let member, let offset):
            "gzip member \(member) (from byte \(offset) of the body) is truncated"
        case .trailingBytes(let offset, let count):
            "\(count) bytes at byte \(offset) of the body, after the end of the gzip stream, are not a gzip member"
        case .timeBudgetExceeded(let budget):
            "the gzip body took longer than \(budget) to inflate"
        case .internalError(let reason):
            "the gzip body could not be inflated: \(reason)"
        }
    }
}
