public import ReflexCore

/// The simulator's random numbers: ``SplitMix64``, seeded per fleet and per device.
public typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    /// A generator for one member of a family (a device of a fleet), independent of its siblings.
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        self.init(seed: mixer.next())
    }
}
