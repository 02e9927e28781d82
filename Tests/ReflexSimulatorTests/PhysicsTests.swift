import ReflexCore
import Testing

@testable import ReflexSimulator

@Suite("Simulator physics")
struct PhysicsTests {
    @Test("a pump at lower speed settles at lower flow, pressure, current, vibration and bearing temperature")
    func lowerSpeedIsCooler() throws {
        var fast = pumpAndChiller()
        var slow = pumpAndChiller()
        #expect(slow.apply("set_speed", params: ["rpm": .number(1200)], to: "pump-001").status == .done)
        fast.advance(by: 3600)
        slow.advance(by: 3600)
        let f = fast.truth("pump-001")
        let s = slow.truth("pump-001")
        for metric in ["flow", "pressure", "motor_current", "vibration", "bearing_temperature", "speed"] {
            #expect(try #require(s[metric]) < (try #require(f[metric])), "\(metric)")
        }
    }

    @Test("bearing temperature follows a speed change with a first-order lag")
    func thermalLag() throws {
        var simulation = pumpAndChiller()
        simulation.advance(by: 600)
        let before = try #require(simulation.truth("pump-001")["bearing_temperature"])
        _ = simulation.apply("set_speed", params: ["rpm": .number(3000)], to: "pump-001")
        simulation.advance(by: 30)
        let soon = try #require(simulation.truth("pump-001")["bearing_temperature"])
        simulation.advance(by: 1800)
        let settled = try #require(simulation.truth("pump-001")["bearing_temperature"])
        #expect(soon > before)
        #expect(settled - soon > 3 * (soon - before))  // most of the rise comes later
    }

    @Test("a stopped pump has no flow and no current; a stopped chiller draws no current")
    func stopMeansNoFlow() throws {
        var simulation = pumpAndChiller()
        #expect(simulation.apply("stop", params: [:], to: "pump-001").status == .done)
        #expect(simulation.apply("stop", params: [:], to: "chiller-001").status == .done)
        simulation.advance(by: 60)
        let pump = simulation.truth("pump-001")
        #expect(pump["flow"] == 0)
        #expect(pump["motor_current"] == 0)
        #expect(pump["speed"] == 0)
        #expect(simulation.truth("chiller-001")["compressor_current"] == 0)
        let readingSample = simulation.reading(of: "pump-001")
        let reading = try #require(readingSample)
        #expect(reading.values["flow"] == 0)
        #expect(!reading.isRunning)
    }

    @Test("a chiller at lower load draws less current and its supply follows the setpoint")
    func chillerLoadAndSetpoint() throws {
        var high = pumpAndChiller()
        var low = pumpAndChiller()
        _ = low.apply("set_load", params: ["percent": .number(30)], to: "chiller-001")
        _ = low.apply("set_setpoint", params: ["celsius": .number(10)], to: "chiller-001")
        high.advance(by: 1800)
        low.advance(by: 1800)
        let h = high.truth("chiller-001")
        let l = low.truth("chiller-001")
        #expect(try #require(l["compressor_current"]) < (try #require(h["compressor_current"])))
        #expect(try #require(l["power"]) < (try #require(h["power"])))
        #expect(abs(try #require(l["supply_temperature"]) - 10) < 0.2)
    }

    @Test("demand and ambient temperature follow the day: low at 03:00, high at 15:00")
    func dailyCycle() {
        let day = 1_795_046_400.0  // 2026-11-27T00:00Z
        #expect(abs(DailyCycle.demand(at: day + 3 * 3600) - 0.6) < 1e-9)
        #expect(abs(DailyCycle.demand(at: day + 15 * 3600) - 1.0) < 1e-9)
        #expect(DailyCycle.ambientTemperature(at: day + 15 * 3600) > DailyCycle.ambientTemperature(at: day + 3 * 3600))
    }

    @Test("readings are noisy around the truth, and the same seed gives the same readings")
    func seededNoise() throws {
        var first = pumpAndChiller(seed: 42)
        var second = pumpAndChiller(seed: 42)
        var other = pumpAndChiller(seed: 43)
        first.advance(by: 10)
        second.advance(by: 10)
        other.advance(by: 10)
        let aSample = first.reading(of: "pump-001")
        let a = try #require(aSample)
        let bSample = second.reading(of: "pump-001")
        let b = try #require(bSample)
        let cSample = other.reading(of: "pump-001")
        let c = try #require(cSample)
        #expect(a == b)
        #expect(a != c)
        let truth = try #require(first.truth("pump-001")["flow"])
        let flow = try #require(a.values["flow"])
        #expect(flow != truth)
        #expect(abs(flow - truth) < 6)  // 1 % of 100 m3/h, well within 6 sigma
    }
}
