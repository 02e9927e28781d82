import Foundation
import NIOCore
import ReflexCore
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

    /// What one run of the fuzz loop saw.
    struct Stats: Sendable {
        var inputs = 0
        var bytesFed = 0
        var packetsDecoded = 0
        var needMore = 0
        var errorsByKind: [String: Int] = [:]
        var mutations = [Int](repeating: 0, count: Mutation.allCases.count)
        var progressViolations = 0
        var reencodeMismatches = 0
        var firstMismatch: String?

        mutating func merge(_ other: Stats) {
            inputs += other.inputs
            bytesFed += other.bytesFed
            packetsDecoded += other.packetsDecoded
            needMore += other.needMore
            errorsByKind.merge(other.errorsByKind, uniquingKeysWith: +)
            for index in mutations.indices { mutations[index] += other.mutations[index] }
            progressViolations += other.progressViolations
            reencodeMismatches += other.reencodeMismatches
            firstMismatch = firstMismatch ?? other.firstMismatch
        }
    }

    /// Shards run in parallel (one per core on the CI machine); each has its own seed, so the
    /// whole run is still deterministic.
    static let shards = 2

    @Test("mutated packets are rejected or decoded, never crash, and always make progress")
    func fuzz() async throws {
        let iterations = Self.iterations
        let seed = Self.seed
        let corpus = try Self.corpus(seed: seed ^ 0xC0FFEE, count: 4096)
        let stats = await withTaskGroup(of: Stats.self) { group in
            for shard in 0..<Self.shards {
                let count = iterations / Self.shards + (shard < iterations % Self.shards ? 1 : 0)
                group.addTask { Self.run(iterations: count, seed: seed &+ UInt64(shard), corpus: corpus) }
            }
            var total = Stats()
            for await shardStats in group { total.merge(shardStats) }
            return total
        }

        print("fuzz: seed \(seed), \(Self.shards) shards, \(stats.inputs) mutated inputs fed, \(stats.bytesFed) bytes")
        let mutations = zip(Mutation.allCases, stats.mutations).map { "\($0.0)=\($0.1)" }
        print("fuzz: mutations \(mutations.joined(separator: " "))")
        print("fuzz: \(stats.packetsDecoded) packets decoded, \(stats.needMore) times asked for more bytes")
        let errorSummary = stats.errorsByKind.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        print("fuzz: \(stats.errorsByKind.values.reduce(0, +)) errors: \(errorSummary.joined(separator: " "))")
        #expect(stats.inputs == iterations)
        #expect(stats.progressViolations == 0)
        #expect(stats.reencodeMismatches == 0, "first: \(stats.firstMismatch ?? "-")")
        #expect(stats.packetsDecoded > 0)
        #expect(!stats.errorsByKind.isEmpty)
    }

    /// Feeds `iterations` mutated inputs to fresh decoders and counts what happened.
    static func run(iterations: Int, seed: UInt64, corpus: [Sample]) -> Stats {
        var rng = SplitMix64(seed: seed)
        var stats = Stats()
        var scratch: [UInt8] = []
        scratch.reserveCapacity(1024)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(1024)

        for _ in 0..<iterations {
            let sample = corpus[Int.random(in: 0..<corpus.count, using: &rng)]
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: sample.bytes)
            let mutation = Mutation(rawValue: Int.random(in: 0..<Mutation.allCases.count, using: &rng)) ?? .none
            stats.inputs += 1
            stats.mutations[mutation.rawValue] += 1
            Self.mutate(&scratch, mutation, corpus: corpus, version: sample.version, rng: &rng)
            stats.bytesFed += scratch.count
            // Unmutated and concatenated inputs decode to corpus packets, already checked by `corpus`.
            let checksReencoding = mutation != .none && mutation != .concatenate

            let limit: Int
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: limit = 64
            case 1: limit = max(sample.bytes.count, 2)
            default: limit = 1 << 20
            }
            var decoder = PacketDecoder(maximumPacketSize: limit, version: sample.isConnect ? nil : sample.version)
            // A quarter of the inputs arrive in two reads, to exercise the "need more" path.
            let split =
                Int.random(in: 0..<4, using: &rng) == 0 ? Int.random(in: 0...scratch.count, using: &rng) : scratch.count
            buffer.clear()
            var failed = false
            for part in 0..<2 where !failed {
                let (start, end) = part == 0 ? (0, split) : (split, scratch.count)
                buffer.writeBytes(scratch[start..<end])
                // Every successful call consumes a byte at least, so this bound is never reached
                // by a correct decoder; it turns a lack of progress into a failure, not a hang.
                var steps = 0
                while steps <= scratch.count + 1 {
                    steps += 1
                    let before = buffer.readerIndex
                    do throws(PacketDecodingError) {
                        guard let packet = try decoder.decode(buffer: &buffer) else {
                            stats.needMore += 1
                            if buffer.readerIndex != before { stats.progressViolations += 1 }
                            break
                        }
                        stats.packetsDecoded += 1
                        if buffer.readerIndex <= before {
                            stats.progressViolations += 1
                            failed = true
                            break
                        }
                        if checksReencoding, let version = decoder.version, !Self.survivesReencoding(packet, version) {
                            stats.reencodeMismatches += 1
                            if stats.firstMismatch == nil { stats.firstMismatch = "\(packet) under \(version)" }
                        }
                    } catch {
                        stats.errorsByKind[error.metricLabel, default: 0] += 1
                        if buffer.readerIndex != before { stats.progressViolations += 1 }
                        failed = true
                        break
                    }
                }
            }
        }
        return stats
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
