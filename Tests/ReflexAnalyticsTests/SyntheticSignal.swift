import Foundation
import ReflexCore

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
        var random = SplitMix64(seed: seed)
        return (0..<count).map { row in
            let phase = Double(row % Self.rowsPerDay) / Double(Self.rowsPerDay) * 2 * Double.pi
            let value = 10 + amplitude * sin(phase) + noise * random.gaussian()
            return (Self.start + Int64(row) * Self.stepMillis, change(row, value))
        }
    }
}
