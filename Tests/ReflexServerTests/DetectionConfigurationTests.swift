import Foundation
import ReflexAnalytics
import ReflexCore
import ReflexNode
import ReflexServer
import Testing

@Suite("Detection configuration")
struct DetectionConfigurationTests {
    static let yaml = """
        detection:
          enabled: true
          checkpointInterval: 30s
          defaults:
            sensitivity: 0.4
            seasonality: 1d
          rules:
            - {deviceType: pump, sensitivity: 0.6}
            - {metric: vibration, range: [0, 80]}
            - {deviceType: pump, metric: vibration, sensitivity: 0.7, seasonality: 1h, range: [0, 50]}
            - deviceType: fan
              enabled: false
        """

    @Test("the detection section is read, and rules apply from least to most specific")
    func reads() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let detection = try load(yaml: Self.yaml, in: directory).detection
            #expect(detection.isEnabled)
            #expect(detection.checkpointInterval == .seconds(30))
            #expect(detection.rules.count == 4)
            let vibration = try MetricName(validating: "vibration")
            let temperature = try MetricName(validating: "temperature")
            let (pump, pumpRules) = detection.resolve(deviceType: "pump", metric: vibration)
            #expect(pump == DetectorSettings(isEnabled: true, sensitivity: 0.7, seasonality: .seconds(3_600)))
            #expect(pumpRules.minimum == 0 && pumpRules.maximum == 50)
            let (other, otherRules) = detection.resolve(deviceType: "valve", metric: vibration)
            #expect(other == DetectorSettings(isEnabled: true, sensitivity: 0.4, seasonality: .seconds(86_400)))
            #expect(otherRules.maximum == 80)
            #expect(detection.resolve(deviceType: "pump", metric: temperature).0.sensitivity == 0.6)
            #expect(detection.resolve(deviceType: "fan", metric: temperature).0.isEnabled == false)
            #expect(detection.resolve(deviceType: nil, metric: temperature).1 == DataQualityRules())
        }
    }

    @Test("no file: detection on with the defaults; flags and environment win over the file")
    func precedence() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let defaults = try load(in: directory).detection
            #expect(defaults == DetectionConfiguration())
            #expect(defaults.isEnabled && defaults.checkpointInterval == .seconds(60))
            var flags = NodeConfiguration.Overrides()
            flags.detectionEnabled = "false"
            #expect(try load(yaml: Self.yaml, flags: flags, in: directory).detection.isEnabled == false)
            let environment = ["REFLEX_DETECTION_CHECKPOINT_INTERVAL": "5m", "REFLEX_DETECTION_SENSITIVITY": "0.9"]
            let fromEnvironment = try load(yaml: Self.yaml, environment: environment, in: directory).detection
            #expect(fromEnvironment.checkpointInterval == .seconds(300))
            #expect(fromEnvironment.defaults.sensitivity == 0.9)
        }
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var yaml: String
        var environment: [String: String] = [:]
        var message: String
        var testDescription: String { message }
    }

    @Test(
        "bad detection settings fail with the key, the source and what is accepted",
        arguments: [
            BadCase(
                yaml: "detection:\n  enabled: maybe\n",
                message: "detection.enabled in /etc/reflex.yaml line 2: expected true or false, got 'maybe'"
            ),
            BadCase(
                yaml: "",
                environment: ["REFLEX_DETECTION_CHECKPOINT_INTERVAL": "0"],
                message:
                    "detection.checkpointInterval from environment variable REFLEX_DETECTION_CHECKPOINT_INTERVAL: expected a duration in seconds between 1 and 86400"
            ),
            BadCase(
                yaml: "detection:\n  defaults:\n    sensitivity: 2\n",
                message:
                    "detection.defaults.sensitivity in /etc/reflex.yaml line 3: expected a number from 0 to 1, got '2'"
            ),
            BadCase(
                yaml: "detection:\n  rules:\n    - {deviceType: pump, sensitivity: high}\n",
                message:
                    "detection.rules[0].sensitivity in /etc/reflex.yaml line 3: expected a number from 0 to 1, got 'high'"
            ),
            BadCase(
                yaml: "detection:\n  rules:\n    - {metric: vibration, range: [50, 0]}\n",
                message: "detection.rules[0].range in /etc/reflex.yaml line 3: expected [min, max] with min < max"
            ),
            BadCase(
                yaml: "detection:\n  rules:\n    - {metric: vibration}\n    - {metrik: vibration}\n",
                message: "unknown key 'detection.rules[1].metrik' in /etc/reflex.yaml line 4; did you mean 'metric'?"
            ),
            BadCase(
                yaml: "detection:\n  rules:\n    - {sensitivity: 0.5}\n",
                message: "detection.rules[0] in /etc/reflex.yaml line 3: a rule needs a deviceType, a metric or both"
            ),
            BadCase(
                yaml: "detection:\n  rules: pump\n",
                message: "detection.rules in /etc/reflex.yaml line 2: expected a list of rules"
            ),
            BadCase(
                yaml: "detection:\n  rulez: []\n",
                message: "unknown key 'detection.rulez' in /etc/reflex.yaml line 2; did you mean 'detection.rules'?"
            ),
            BadCase(
                yaml: "detection:\n  rules:\n    - {metric: \"bad metric\"}\n",
                message: "detection.rules[0].metric in /etc/reflex.yaml line 3: expected a metric name"
            ),
        ]
    )
    func rejects(_ bad: BadCase) throws {
        try withTemporaryDirectory { (directory: String) throws in
            let error = #expect(throws: ConfigurationError.self) {
                _ = try load(yaml: bad.yaml, environment: bad.environment, in: directory)
            }
            #expect(error?.message.contains(bad.message) == true, "\(error?.message ?? "no error")")
        }
    }
}
