import ReflexAutomation
import ReflexCore
import Testing

@Suite struct RuleParserTests {
    static let overheat = """
        rule: pump-overheat
        scope: { type: pump }
        when: temperature > 85 for 30s or anomaly(vibration) > 0.9
        clear: temperature < 80 for 1m
        do:
          - alarm: { type: overheat, severity: major, message: "bearing at {temperature} °C" }
          - command: { name: set_speed, params: { rpm: "max(speed * 0.7, 900)" }, bounds: { rpm: [0, 3000] } }
        interlocks: [ "pressure < 12" ]
        cooldown: 10m
        maxActionsPerHour: 6
        """

    let known = RuleParser { _ in ["temperature", "vibration", "speed", "pressure"] }

    @Test("the example rule parses with all its parts")
    func example() throws {
        let file = known.parse(Self.overheat, file: "rules/pumps.yaml")
        #expect(file.errors.isEmpty, "\(file.errors)")
        let rule = try #require(file.rules.first)
        #expect(rule.id.rawValue == "pump-overheat")
        #expect(rule.scope.type == "pump")
        #expect(rule.cooldown == 600_000)
        #expect(rule.maxActionsPerHour == 6)
        #expect(rule.interlocks.map(\.text) == ["pressure < 12"])
        #expect(rule.actions.count == 2)
        #expect(rule.source == "file:rules/pumps.yaml")
    }

    @Test(
        "validation errors name the file, the line, the rule and the problem",
        arguments: [
            (
                "rule: overheat\nscope: { type: pump }\nwhen: temprature > 85\ndo:\n  - alarm: { type: hot }\n",
                "rules/pumps.yaml line 3, rule 'overheat': unknown metric 'temprature'; did you mean 'temperature'? known: pressure, speed, temperature, vibration"
            ),
            (
                "rule: r\nscope: { type: pump }\nwhen: temperature > 85\ncooldwn: 5m\ndo:\n  - alarm: { type: hot }\n",
                "rules/pumps.yaml line 4, rule 'r': unknown key 'cooldwn'; did you mean 'cooldown'?"
            ),
            (
                "rule: r\nscope: { type: pump }\nwhen: temperature >\ndo:\n  - alarm: { type: hot }\n",
                "rules/pumps.yaml line 3, rule 'r': 'when: temperature >' at character 14: the expression ends too early"
            ),
            (
                "rule: r\nscope: { type: pump }\nwhen: temperature > 85\ndo:\n  - command: { name: set_speed, params: { rpm: \"speed * 0.5\" } }\n",
                "parameter 'rpm' is computed ('speed * 0.5') and so needs bounds"
            ),
            (
                "rule: r\nscope: { type: pump }\nwhen: speed > 85\ndo:\n  - command: { name: set_speed, params: { speed: 10 } }\n",
                "a cycle that would retrigger it; add a cooldown"
            ),
            (
                "rule: r\nwhen: speed > 85\ndo:\n  - alarm: { type: hot }\n",
                "'scope:' is required"
            ),
            (
                "rule: r\nscope: { type: pump }\nwhen: speed > 85\ndo:\n  - alarn: { type: hot }\n",
                "unknown action 'alarn'; did you mean 'alarm'?"
            ),
        ]
    )
    func errors(text: String, expected: String) {
        let file = known.parse(text, file: "rules/pumps.yaml")
        #expect(file.rules.isEmpty)
        #expect(file.errors.count == 1)
        #expect(file.errors.first?.description.contains(expected) == true, "\(file.errors)")
    }

    @Test("a bad rule never stops the good ones in the same file")
    func isolation() {
        let text =
            Self.overheat
            + "\n---\nrule: broken\nscope: { type: pump }\nwhen: nonsense >\ndo:\n  - alarm: { type: x }\n"
        let file = known.parse(text, file: "rules/pumps.yaml")
        #expect(file.rules.map(\.id.rawValue) == ["pump-overheat"])
        #expect(file.errors.count == 1)
        #expect(file.errors.first?.line == 14)
        #expect(file.refused.map(\.id.rawValue) == ["broken"])
    }

    @Test("unknown metrics are not checked while the set of known metrics is unknown")
    func unknownSet() {
        let file = RuleParser().parse(
            "rule: r\nscope: { type: pump }\nwhen: anything > 1\ndo:\n  - alarm: { type: x }\n",
            file: "api"
        )
        #expect(file.errors.isEmpty)
    }

    @Test("a YAML syntax error names its line and does not crash")
    func yamlSyntax() {
        let file = known.parse("rule: r\nscope: { type: pump\nwhen: x\n", file: "rules/x.yaml")
        #expect(file.errors.first?.description.hasPrefix("rules/x.yaml line") == true, "\(file.errors)")
    }

    @Test("a self-cycle with a cooldown is accepted with a warning; cycles between rules are flagged")
    func cycles() throws {
        let a =
            "rule: a\nscope: { type: pump }\nwhen: speed > 85\ncooldown: 5m\ndo:\n  - command: { name: set_speed, params: { speed: 10 } }\n"
        let rule = try #require(known.parse(a, file: "api").rules.first)
        #expect(rule.warnings.first?.contains("damped by cooldown 5m") == true)
        let b =
            "rule: b\nscope: { type: pump }\nwhen: pressure > 1\ndo:\n  - command: { name: set_x, params: { speed: 1 } }\n"
        let c =
            "rule: c\nscope: { type: pump }\nwhen: speed > 1\ndo:\n  - command: { name: set_y, params: { pressure: 1 } }\n"
        let rules = [b, c].compactMap { known.parse($0, file: "api").rules.first }
        let cycles = RuleParser.crossRuleCycles(rules)
        #expect(cycles.keys.map(\.rawValue).sorted() == ["b", "c"])
    }

    @Test("fail-safe documents parse")
    func failSafe() throws {
        let file = known.parse(
            "failsafe: pump\ncommand: { name: set_speed, params: { rpm: 900 } }\nstaleAfter: 4\n",
            file: "rules/safe.yaml"
        )
        let policy = try #require(file.failSafes.first)
        #expect(policy.deviceType == "pump")
        #expect(policy.params["rpm"] == .number(900))
        #expect(policy.staleFactor == 4)
    }
}
