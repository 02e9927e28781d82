import ReflexAutomation
import Testing

/// Plain values for expression tests.
struct FixedContext: EvaluationContext {
    var now: Int64 = 0
    var isOnline = true
    var values: [String: Double] = [:]
    var scores: [String: Double] = [:]
    var problems: Set<String> = []
    var stale: Set<String> = []
    var alarms: Set<String> = []
    var window = SeriesWindow(span: 600_000)

    func latest(_ metric: String) -> Double? { values[metric] }
    func anomalyScore(_ metric: String) -> Double? { scores[metric] }
    func hasQualityProblem(_ metric: String) -> Bool { problems.contains(metric) }
    func isStale(_ metric: String) -> Bool { stale.contains(metric) }
    func isAlarmOpen(_ type: String) -> Bool { alarms.contains(type) }
    func rate(_ metric: String, window: Int64) -> Double? { self.window.rate(window: window, now: now) }
    func aggregate(_ kind: WindowAggregate, _ metric: String, window: Int64) -> Double? {
        self.window.aggregate(kind, window: window, now: now)
    }
}

@Suite struct ExpressionTests {
    func check(_ text: String, _ context: FixedContext) throws -> Bool {
        let e = try ExpressionParser.parse(text, expecting: .boolean).expression
        var evaluator = ExpressionEvaluator()
        return evaluator.condition(e, in: context)
    }

    @Test(
        "conditions evaluate with precedence: arithmetic, comparison, not, and, or",
        arguments: [
            ("temperature > 85", true),
            ("temperature > 85 and pressure < 12", false),
            ("temperature > 85 or pressure < 12", true),
            ("not temperature > 85", false),
            ("temperature - 10 * 2 >= 70", true),
            ("(temperature - 10) * 2 == 160", true),
            ("max(temperature, 100) == 100", true),
            ("min(temperature, 100, 50) == 50", true),
            ("abs(-3) == 3", true),
            ("-temperature < 0", true),
            ("anomaly(vibration) > 0.9", true),
            ("quality(vibration)", true),
            ("stale(temperature)", false),
            ("alarm(overheat)", true),
            ("online", true),
            ("online == false", false),
            ("missing > 1 or missing <= 1", false),
            ("temperature / 0 > 1", false),
        ]
    )
    func semantics(text: String, expected: Bool) throws {
        let context = FixedContext(
            values: ["temperature": 90, "pressure": 14],
            scores: ["vibration": 0.95],
            problems: ["vibration"],
            alarms: ["overheat"]
        )
        #expect(try check(text, context) == expected)
    }

    @Test(
        "bad expressions are refused with a position and a hint",
        arguments: [
            ("temperature > ", "ends too early"),
            ("temperature && x", "write 'and'"),
            ("temperature = 3", "'=='"),
            ("temperature", "a condition is needed"),
            ("temperature > 3 for", "needs a duration"),
            ("temperature > 3 for 10q", "unknown unit"),
            ("frobnicate(x) > 1", "unknown function"),
            ("1 < 2 < 3", "do not chain"),
            ("temperature > 3 and 4", "'and' needs a condition"),
            ("rate(temperature) > 1", "a metric and a window"),
        ]
    )
    func errors(text: String, fragment: String) {
        #expect {
            _ = try ExpressionParser.parse(text, expecting: .boolean)
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }

    @Test("'for' holds only after the condition has been true for the whole duration")
    func sustained() throws {
        let e = try ExpressionParser.parse("temperature > 85 for 30s", expecting: .boolean).expression
        var evaluator = ExpressionEvaluator()
        var c = FixedContext(now: 0, values: ["temperature": 90])
        do {
            let held = evaluator.condition(e, in: c)
            #expect(!held)
        }
        #expect(evaluator.isPending)
        c.now = 29_999
        do {
            let held = evaluator.condition(e, in: c)
            #expect(!held)
        }
        c.now = 30_000
        do {
            let held = evaluator.condition(e, in: c)
            #expect(held)
        }
        c.values["temperature"] = 80  // drops: the timer restarts
        c.now = 31_000
        do {
            let held = evaluator.condition(e, in: c)
            #expect(!held)
        }
        c.values["temperature"] = 90
        c.now = 40_000
        do {
            let held = evaluator.condition(e, in: c)
            #expect(!held)
        }
        c.now = 70_000
        do {
            let held = evaluator.condition(e, in: c)
            #expect(held)
        }
    }

    @Test("windows: rate per second, avg/min/max over the last N, bounded")
    func windows() throws {
        var w = SeriesWindow(span: 60_000, capacity: 100)
        for i in 0..<61 { w.append(Int64(i) * 1000, Double(i) * 2) }
        #expect(w.rate(window: 10_000, now: 60_000) == 2)
        #expect(w.aggregate(.avg, window: 4_000, now: 60_000) == 116)
        #expect(w.aggregate(.min, window: 60_000, now: 60_000) == 0)
        #expect(w.aggregate(.max, window: 60_000, now: 60_000) == 120)
        for i in 61..<10_000 { w.append(Int64(i) * 1000, 1) }
        #expect(w.count <= 100)
        let context = FixedContext(now: 9_999_000, window: w)
        #expect(try check("avg(temperature, 1m) == 1 and rate(temperature, 1m) == 0", context))
    }

    @Test("records the inputs it read, for the audit log")
    func inputs() throws {
        let e = try ExpressionParser.parse("temperature > 85 or anomaly(vibration) > 0.9", expecting: .boolean)
            .expression
        var evaluator = ExpressionEvaluator()
        _ = evaluator.condition(e, in: FixedContext(values: ["temperature": 91.5], scores: ["vibration": 0.2]))
        #expect(evaluator.inputs == ["temperature": 91.5, "anomaly(vibration)": 0.2])
    }

    @Test(
        "durations parse and print",
        arguments: [("30s", 30_000), ("10m", 600_000), ("1h", 3_600_000), ("500ms", 500), ("2d", 172_800_000)]
    )
    func durations(text: String, ms: Int64) {
        #expect(DurationText.milliseconds(text) == ms)
        #expect(DurationText.milliseconds(DurationText.format(ms)) == ms)
    }
}
