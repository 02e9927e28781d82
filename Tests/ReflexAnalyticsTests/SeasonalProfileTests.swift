import Foundation
import Testing

@testable import ReflexAnalytics

/// The seasonal profile learns per visit of a bin, whatever the sampling rate.
@Suite struct SeasonalProfileTests {
    static let day: Int64 = 86_400_000
    static let binMillis = day / Int64(SeasonalProfile.binCount)

    /// A bin seen at 0 for a day, then visited once at a constant 1, sampled every `interval`.
    static func afterOneVisit(interval: Int64) -> Double? {
        var profile = SeasonalProfile(periodMillis: day)
        var time: Int64 = 0
        while time < day {
            profile.learn(0, inBin: profile.bin(at: time), at: time)
            time += interval
        }
        while time < day + binMillis {
            profile.learn(1, inBin: 0, at: time)
            time += interval
        }
        return profile.expected(inBin: 0)
    }

    @Test("one visit moves a bin about three quarters of the way, at 5-minute and at 1-second sampling")
    func perVisit() throws {
        let fiveMinutes = try #require(Self.afterOneVisit(interval: 300_000))
        let oneSecond = try #require(Self.afterOneVisit(interval: 1000))
        #expect(abs(fiveMinutes - 0.738) < 0.01, "\(fiveMinutes)")
        #expect(abs(oneSecond - 0.738) < 0.01, "\(oneSecond)")
    }

    @Test("5-minute sampling learns at 0.2 per sample; faster sampling proportionally slower")
    func rates() {
        var fiveMinutes = SeasonalProfile(periodMillis: Self.day)
        var oneSecond = SeasonalProfile(periodMillis: Self.day)
        for step in 0..<100 {
            fiveMinutes.learn(0, inBin: 0, at: Int64(step) * 300_000)
            oneSecond.learn(0, inBin: 0, at: Int64(step) * 1000)
        }
        #expect(abs(fiveMinutes.rate - 0.2) < 1e-9)
        #expect(oneSecond.rate > 0.0007 && oneSecond.rate < 0.0008, "\(oneSecond.rate)")
        // Hourly sampling visits a half-hour bin once in two: capped at 0.2 per sample.
        var hourly = SeasonalProfile(periodMillis: Self.day)
        for step in 0..<100 { hourly.learn(0, inBin: 0, at: Int64(step) * 3_600_000) }
        #expect(hourly.rate == SeasonalProfile.maximumRate)
    }

    @Test("repeated and regressing timestamps and outages do not distort the learnt interval")
    func interval() {
        var profile = SeasonalProfile(periodMillis: Self.day)
        var times: [Int64] = Array(stride(from: 0, to: 600_000, by: 10_000))
        times += [590_000, 590_000, 5_000_000, 5_010_000, 5_020_000]
        for time in times { profile.learn(0, inBin: profile.bin(at: time), at: time) }
        let expected = 1 - pow(SeasonalProfile.visitRetention, 10_000 / Double(Self.binMillis))
        #expect(abs(profile.rate - expected) < 1e-9)
    }
}
