import Foundation

/// Deterministic test signals sampled every five minutes: a daily wave with Gaussian noise, to
/// which a test applies a change at a known row.
struct SyntheticSignal {
    static let stepMillis: Int64 = 300_000
    static let start: Int64 = 1_700_000_000_000
    static let rowsPerDay = 288

    var amplitude = 1.0
    var noise = 0.1
    var seed: UInt64 = 7

    /// The rows' timestamps and values; `change(row, value)` rewrites values from the change on.
    func values(count: Int, change: (Int, Double) -> Double = { $1 }) -> [(Int64, Double)] {
        var random = TestRandom(seed: seed)
        return (0..<count).map { row in
            let phase = Double(row % Self.rowsPerDay) / Double(Self.rowsPerDay) * 2 * Double.pi
            let value = 10 + amplitude * sin(phase) + noise * random.nextGaussian()
            return (Self.start + Int64(row) * Self.stepMillis, change(row, value))
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014) with a Box–Muller normal.
struct TestRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    mutating func nextGaussian() -> Double {
        let u = max(nextUnit(), 1e-300)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * nextUnit())
    }
}
