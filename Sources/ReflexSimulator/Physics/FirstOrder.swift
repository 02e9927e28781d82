import Foundation

/// First-order lag: moves `value` toward `target` with time constant `tau` over `dt` seconds,
/// exactly (the exponential solution), so large steps stay stable.
@inline(__always)
func approach(_ value: Double, _ target: Double, tau: Double, dt: Double) -> Double {
    guard tau > 0 else { return target }
    return target + (value - target) * exp(-dt / tau)
}

/// Moves `value` toward `target` by at most `rate × dt`.
@inline(__always)
func ramp(_ value: Double, toward target: Double, rate: Double, dt: Double) -> Double {
    let step = rate * dt
    if abs(target - value) <= step { return target }
    return value + (target > value ? step : -step)
}
