import Foundation
import NIOCore
import ReflexMQTT
import Testing

/// Seeded randomized robustness test: valid packets of every type and both versions are encoded,
/// mutated and decoded. The decoder must never crash, must either return packets or throw a
/// ``PacketDecodingError``, must consume something whenever it returns a packet and nothing when
/// it asks for more bytes or throws, and every packet it accepts must survive re-encoding.
///
/// `REFLEX_FUZZ_ITERATIONS` sets the number of mutated inputs (default 1,000,000) and
/// `REFLEX_FUZZ_SEED` the seed (default fixed), so a failure replays exactly.
@Suite struct FuzzTests {
    /// One valid encoded packet of the corpus the mutations start from.
    struct Sample {
        let bytes: [UInt8]
        let version: ProtocolVersion
        let isConnect: Bool
    }

    enum Mutation: Int, CaseIterable {
        case none, bitFlips, insertByte, deleteByte, truncate, corruptLength, splice, concatenate
    }

    static var iterations: Int {
        ProcessInfo.processInfo.environment["REFLEX_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 1_000_000
    }

    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["REFLEX_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_F00D
    }

    /// Builds the corpus and checks every sample round-trips before it is mutated.
    static func corpus(seed: UInt64, count: Int) throws -> [Sample] {
        var generator = RandomPackets(seed: seed)
        var samples: [Sample] = []
        for index in 0..<count {
            let version: ProtocolVersion = index % 2 == 0 ? .v5 : .v311
            let type = generator.int(1...(version == .v5 ? 15 : 14))
            let packet = generator.packet(type: type, version: version)
            var buffer = CodecTestSupport.bytes(packet, version)
            #expect(buffer.readableBytes == PacketEncoder.encodedSize(packet, version: version))
            let bytes = Array(buffer.readableBytesView)
            var decoder = CodecTestSupport.decoder(for: packet, version)
            let decoded = try decoder.decode(buffer: &buffer)
            #expect(decoded == packet, "generated \(packet.name) under \(version) does not round-trip")
            samples.append(Sample(bytes: bytes, version: version, isConnect: type == 1))
        }
        return samples
    }

    @Test("mutated packets are rejected or decoded, never crash, and always make progress")
    func fuzz() throws {
        let iterations = Self.iterations
        var rng = SplitMix64(seed: Self.seed)
        let corpus = try Self.corpus(seed: Self.seed ^ 0xC0FFEE, count: 4096)

        var scratch: [UInt8] = []
        scratch.reserveCapacity(1024)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(1024)
        var bytesFed = 0
        var packetsDecoded = 0
        var needMore = 0
        var errorsByKind: [String: Int] = [:]
        var mutations = [Int](repeating: 0, count: Mutation.allCases.count)
        var progressViolations = 0
        var reencodeMismatches = 0
        var firstMismatch: String?

        for _ in 0..<iterations {
            let sample = corpus[Int.random(in: 0..<corpus.count, using: &rng)]
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: sample.bytes)
            let mutation = Mutation(rawValue: Int.random(in: 0..<Mutation.allCases.count, using: &rng)) ?? .none
            mutations[mutation.rawValue] += 1
            Self.mutate(&scratch, mutation, corpus: corpus, version: sample.version, rng: &rng)
            bytesFed += scratch.count

            let limits = [1 << 20, 64, max(sample.bytes.count, 2)]
            var decoder = PacketDecoder(
                maximumPacketSize: limits[Int.random(in: 0..<limits.count, using: &rng)],
                version: sample.isConnect ? nil : sample.version
            )
            // A quarter of the inputs arrive in two reads, to exercise the "need more" path.
            let split =
                Int.random(in: 0..<4, using: &rng) == 0 ? Int.random(in: 0...scratch.count, using: &rng) : scratch.count
            buffer.clear()
            var failed = false
            for (start, end) in [(0, split), (split, scratch.count)] where !failed {
                buffer.writeBytes(scratch[start..<end])
                var steps = 0
                while steps <= scratch.count + 1 {
                    steps += 1
                    let before = buffer.readerIndex
                    do throws(PacketDecodingError) {
                        guard let packet = try decoder.decode(buffer: &buffer) else {
                            needMore += 1
                            if buffer.readerIndex != before { progressViolations += 1 }
                            break
                        }
                        packetsDecoded += 1
                        if buffer.readerIndex <= before {
                            progressViolations += 1
                            failed = true
                            break
                        }
                        if let version = decoder.version, !Self.survivesReencoding(packet, version) {
                            reencodeMismatches += 1
                            if firstMismatch == nil { firstMismatch = "\(packet) under \(version)" }
                        }
                    } catch {
                        errorsByKind[error.metricLabel, default: 0] += 1
                        if buffer.readerIndex != before { progressViolations += 1 }
                        failed = true
                        break
                    }
                }
            }
        }

        print("fuzz: seed \(Self.seed), \(iterations) mutated inputs, \(bytesFed) bytes fed")
        print("fuzz: mutations \(zip(Mutation.allCases, mutations).map { "\($0.0)=\($0.1)" }.joined(separator: " "))")
        print("fuzz: \(packetsDecoded) packets decoded, \(needMore) asked for more bytes")
        let errorSummary = errorsByKind.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        print("fuzz: \(errorsByKind.values.reduce(0, +)) errors: \(errorSummary.joined(separator: " "))")
        #expect(progressViolations == 0)
        #expect(reencodeMismatches == 0, "first: \(firstMismatch ?? "-")")
        #expect(packetsDecoded > 0)
        #expect(!errorsByKind.isEmpty)
    }

    /// Whether an accepted packet encodes to bytes that decode to the same packet.
    static func survivesReencoding(_ packet: Packet, _ version: ProtocolVersion) -> Bool {
        var buffer = CodecTestSupport.bytes(packet, version)
        guard buffer.readableBytes == PacketEncoder.encodedSize(packet, version: version) else { return false }
        var decoder = CodecTestSupport.decoder(for: packet, version)
        guard let decoded = try? decoder.decode(buffer: &buffer) else { return false }
        return decoded == packet && buffer.readableBytes == 0
    }

    static func mutate(
        _ bytes: inout [UInt8],
        _ mutation: Mutation,
        corpus: [Sample],
        version: ProtocolVersion,
        rng: inout SplitMix64
    ) {
        func index(_ upper: Int) -> Int { Int.random(in: 0..<max(upper, 1), using: &rng) }
        func other() -> [UInt8] {
            // Prefer a partner of the same version, as on one connection.
            let partner = corpus[index(corpus.count)]
            return partner.version == version ? partner.bytes : corpus[index(corpus.count)].bytes
        }
        switch mutation {
        case .none:
            break
        case .bitFlips:
            for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
                bytes[index(bytes.count)] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            }
        case .insertByte:
            bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index(bytes.count + 1))
        case .deleteByte:
            if !bytes.isEmpty { bytes.remove(at: index(bytes.count)) }
        case .truncate:
            bytes.removeLast(bytes.count - index(bytes.count))
        case .corruptLength:
            if Bool.random(using: &rng) || bytes.count < 4 {
                // The remaining length field.
                for position in 1..<min(bytes.count, 1 + Int.random(in: 1...4, using: &rng)) {
                    bytes[position] = UInt8.random(in: 0...255, using: &rng)
                }
            } else {
                // Some two-byte length inside the body (string, binary data or packet identifier).
                let position = 2 + index(bytes.count - 3)
                bytes[position] = UInt8.random(in: 0...2, using: &rng)
                bytes[position + 1] = UInt8.random(in: 0...255, using: &rng)
            }
        case .splice:
            let tail = other()
            bytes.removeLast(bytes.count - index(bytes.count + 1))
            bytes.append(contentsOf: tail[index(tail.count)...])
        case .concatenate:
            bytes.append(contentsOf: other())
        }
    }
}
