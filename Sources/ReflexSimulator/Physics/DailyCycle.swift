import Foundation

/// The daily rhythm every device feels: process demand and ambient temperature follow a sine over
/// the UTC day, lowest at 03:00 and highest at 15:00.
public enum DailyCycle {
    /// The phase of the day in [0, 1) for a time in seconds since 1970 (UTC).
    static func phase(at time: Double) -> Double {
        let day = 86_400.0
        let seconds = time.truncatingRemainder(dividingBy: day)
        return (seconds < 0 ? seconds + day : seconds) / day
    }

    /// Process demand as a fraction of design flow or cooling load: 0.6 at 03:00, 1.0 at 15:00.
    public static func demand(at time: Double) -> Double {
        0.8 + 0.2 * sin(2 * .pi * (phase(at: time) - 9.0 / 24.0))
    }

    /// Ambient (machine room) temperature in °C: 8 °C at 03:00, 22 °C at 15:00.
    public static func ambientTemperature(at time: Double) -> Double {
        15 + 7 * sin(2 * .pi * (phase(at: time) - 9.0 / 24.0))
    }
}
