/// A decimal number as scanned from text: `mantissa × 10^exponent`, converted to `Double` with
/// correct rounding.
///
/// The common case (at most 19 significant digits, mantissa ≤ 2^53, |exponent| ≤ 22) is exact
/// with one multiplication or division (Clinger's fast path: W. D. Clinger, "How to Read Floating
/// Point Numbers Accurately", PLDI 1990); other numbers go through the standard library's
/// `Double(_:)` on the original text.
struct DecimalNumber {
    var isNegative = false
    /// The first (up to) 19 significant digits.
    var mantissa: UInt64 = 0
    /// Significant digits seen, including those beyond the 19 kept in `mantissa`.
    var significantDigits = 0
    var exponent = 0

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Adds one digit (0...9) of the integer or fraction part.
    @inline(__always)
    mutating func append(digit: UInt8, isFraction: Bool) {
        if significantDigits == 0 && digit == 0 {
            if isFraction { exponent -= 1 }
            return
        }
        significantDigits += 1
        if significantDigits <= 19 {
            mantissa = mantissa &* 10 &+ UInt64(digit)
            if isFraction { exponent -= 1 }
        } else if !isFraction {
            exponent += 1
        }
    }

    /// The value; `text` is the literal, used only off the fast path.
    func double(text: UnsafeBufferPointer<UInt8>) -> Double {
        if mantissa == 0 { return isNegative ? -0.0 : 0 }
        if significantDigits <= 19, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            let value = Double(mantissa)
            let scaled = exponent < 0 ? value / Self.powersOfTen[-exponent] : value * Self.powersOfTen[exponent]
            return isNegative ? -scaled : scaled
        }
        return Double(String(decoding: text, as: UTF8.self)) ?? .nan
    }
}
