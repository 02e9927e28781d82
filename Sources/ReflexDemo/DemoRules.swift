import ReflexNode
import ReflexServer

/// The rules `reflex serve --demo` and `reflex bench autonomy` run with: built into the node
/// through ``AutomationConfiguration/builtInRules`` under the label ``fileLabel``, written next to
/// the demo's data as `demo-rules.yaml` for reading, and printed in `docs/autonomy.md`.
///
/// They close the loop on the simulator's physics (`docs/simulator.md`): a physical fault stops
/// progressing when a pump runs at or below 1500 rpm or a chiller at or below 50 % load, so the
/// rules that see one slow the device down; sensor problems only raise alarms; a device whose
/// telemetry goes stale is put in its safe state.
package enum DemoRules {
    /// The file label the rules are loaded under (shown in the audit and `GET /api/v1/rules`).
    package static let fileLabel = "demo/demo-rules.yaml"

    /// The rule file's text.
    package static let text = """
        # Reflex demo rules for the simulated pumps and chillers (physics: docs/simulator.md).
        # Durations (for, windows, cooldown) are wall-clock time, also when the simulator runs faster.
        # Rules that act use windows (min over 5 s) rather than 'for': they fire on the telemetry
        # that completes the window, not on the engine's next clock tick.

        rule: pump-bearing-wear
        description: >
          A healthy pump vibrates about 1.8 mm/s at 2400 rpm; a worn bearing adds 8 mm/s per unit of
          wear. Below 1500 rpm the wear stops progressing, so slow the pump to 1400 rpm.
        scope: { type: pump }
        when: min(vibration, 5s) > 2.4        # above 2.4 mm/s for every reading of the last 5 s
        clear: max(vibration, 30s) < 2.2
        do:
          - alarm: { type: bearing_wear, severity: major, message: "vibration {vibration} mm/s" }
          - command:
              name: set_speed
              params: { rpm: 1400 }
              ttl: 2m
              verify: { when: "speed < 1600", within: 60s }
        interlocks: [ "running == 1" ]   # only slow a pump that runs: a stopped one is an operator's
        cooldown: 10m
        maxActionsPerHour: 3
        ---
        rule: pump-overheating
        description: >
          A healthy bearing runs 30 to 41 °C at 2400 rpm (ambient + 19 °C); impaired cooling heats it
          until it trips at 95 °C. Slowing to 1400 rpm stops the heating.
        scope: { type: pump }
        when: min(bearing_temperature, 5s) > 52
        clear: max(bearing_temperature, 1m) < 48
        do:
          - alarm: { type: overheating, severity: major, message: "bearing at {bearing_temperature} °C" }
          - command:
              name: set_speed
              params: { rpm: 1400 }
              ttl: 2m
              verify: { when: "speed < 1600", within: 60s }
        interlocks: [ "running == 1" ]
        cooldown: 10m
        maxActionsPerHour: 3
        ---
        rule: pump-bearing-critical
        description: >
          Close to the 95 °C trip: ask an operator to approve stopping the pump (the usual mitigation
          above must have been blocked, e.g. by a manual override that was released).
        scope: { type: pump }
        when: min(bearing_temperature, 5s) > 80
        clear: max(bearing_temperature, 1m) < 70
        do:
          - alarm: { type: bearing_critical, severity: critical, message: "bearing at {bearing_temperature} °C, trip at 95" }
          - command: { name: stop, ttl: 10m }
        interlocks: [ "running == 1" ]
        approval: true
        cooldown: 15m
        maxActionsPerHour: 2
        ---
        rule: chiller-overpressure
        description: >
          Condensing pressure is 9 to 12.6 bar in normal operation; a fouled condenser raises it
          until the 20 bar cut-out. At or below 50 % load the fouling stops heating it, so shed load
          to 45 %.
        scope: { type: chiller }
        when: min(refrigerant_pressure, 5s) > 13.5
        clear: max(refrigerant_pressure, 1m) < 12.8
        do:
          - alarm: { type: overpressure, severity: major, message: "refrigerant at {refrigerant_pressure} bar" }
          - command:
              name: set_load
              params: { percent: 45 }
              ttl: 2m
        interlocks: [ "running == 1", "supply_temperature < 12" ]   # shedding load while the water is already warm is the operator's call
        cooldown: 10m
        maxActionsPerHour: 3
        ---
        rule: chiller-compressor-wear
        description: >
          Compressor current is 16 + 27.3 A per kelvin of water temperature difference (the load)
          plus up to 10.5 A on hot afternoons; a worn compressor draws 40 A more per unit of wear.
          Averages over 20 s keep the noise of three sensors out, and 'for 10s' the first seconds,
          when the windows hold only a sample or two. Shed load to 45 %.
        scope: { type: chiller }
        when: >
          (avg(compressor_current, 20s) - 27.3 * (avg(return_temperature, 20s) - avg(supply_temperature, 20s)) > 36)
          for 10s
        clear: avg(compressor_current, 20s) - 27.3 * (avg(return_temperature, 20s) - avg(supply_temperature, 20s)) < 29 for 1m
        do:
          - alarm: { type: compressor_wear, severity: major, message: "compressor current {compressor_current} A" }
          - command:
              name: set_load
              params: { percent: 45 }
              ttl: 2m
        interlocks: [ "running == 1", "supply_temperature < 12" ]
        cooldown: 10m
        maxActionsPerHour: 3
        ---
        rule: pump-sensor-stuck
        description: A running pump's readings always move a little; one that repeats exactly is stuck.
        scope: { type: pump }
        when: >
          (running == 1 and (max(flow, 5s) - min(flow, 5s) == 0 or max(pressure, 5s) - min(pressure, 5s) == 0
          or max(vibration, 5s) - min(vibration, 5s) == 0 or max(motor_current, 5s) - min(motor_current, 5s) == 0
          or max(bearing_temperature, 5s) - min(bearing_temperature, 5s) == 0 or max(speed, 5s) - min(speed, 5s) == 0))
          for 15s
        do:
          - alarm: { type: sensor_stuck, severity: warning, message: "a sensor repeats the same value" }
        ---
        rule: chiller-sensor-stuck
        description: A running chiller's readings always move a little; one that repeats exactly is stuck.
        scope: { type: chiller }
        when: >
          (running == 1 and (max(supply_temperature, 5s) - min(supply_temperature, 5s) == 0
          or max(return_temperature, 5s) - min(return_temperature, 5s) == 0
          or max(compressor_current, 5s) - min(compressor_current, 5s) == 0
          or max(refrigerant_pressure, 5s) - min(refrigerant_pressure, 5s) == 0
          or max(power, 5s) - min(power, 5s) == 0))
          for 15s
        do:
          - alarm: { type: sensor_stuck, severity: warning, message: "a sensor repeats the same value" }
        ---
        rule: pump-sensor-spikes
        description: >
          No pump quantity moves by 2.5 times its typical value within a minute (a stop moves speed
          by 2400 rpm, flow by 120 m³/h); a reading that does is a spike.
        scope: { type: pump }
        when: >
          max(flow, 1m) - min(flow, 1m) > 250 or max(pressure, 1m) - min(pressure, 1m) > 12.5
          or max(vibration, 1m) - min(vibration, 1m) > 5 or max(motor_current, 1m) - min(motor_current, 1m) > 62.5
          or max(bearing_temperature, 1m) - min(bearing_temperature, 1m) > 100 or max(speed, 1m) - min(speed, 1m) > 6000
        do:
          - alarm: { type: sensor_spikes, severity: warning, message: "a sensor jumps implausibly" }
        ---
        rule: chiller-sensor-spikes
        description: No chiller quantity moves by 2.5 times its typical value within a minute; a reading that does is a spike.
        scope: { type: chiller }
        when: >
          max(supply_temperature, 1m) - min(supply_temperature, 1m) > 17.5
          or max(return_temperature, 1m) - min(return_temperature, 1m) > 30
          or max(compressor_current, 1m) - min(compressor_current, 1m) > 300
          or max(refrigerant_pressure, 1m) - min(refrigerant_pressure, 1m) > 27.5
          or max(power, 1m) - min(power, 1m) > 175
        do:
          - alarm: { type: sensor_spikes, severity: warning, message: "a sensor jumps implausibly" }
        ---
        rule: pump-sensor-drift
        description: >
          Over a few minutes a running pump's readings follow its speed; a reading whose last 20 s
          leave its 5-minute average while the speed holds is drifting.
        scope: { type: pump }
        when: >
          (running == 1 and abs(avg(speed, 20s) - avg(speed, 5m)) < 100
          and (abs(avg(flow, 20s) - avg(flow, 5m)) > 12 or abs(avg(pressure, 20s) - avg(pressure, 5m)) > 0.6
          or abs(avg(motor_current, 20s) - avg(motor_current, 5m)) > 3 or abs(avg(vibration, 20s) - avg(vibration, 5m)) > 0.25
          or abs(avg(bearing_temperature, 20s) - avg(bearing_temperature, 5m)) > 3))
          for 10s
        clear: abs(avg(flow, 20s) - avg(flow, 5m)) < 6 and abs(avg(pressure, 20s) - avg(pressure, 5m)) < 0.3
          and abs(avg(motor_current, 20s) - avg(motor_current, 5m)) < 1.5 and abs(avg(vibration, 20s) - avg(vibration, 5m)) < 0.12
          and abs(avg(bearing_temperature, 20s) - avg(bearing_temperature, 5m)) < 1.5
        do:
          - alarm: { type: sensor_drift, severity: warning, message: "a reading drifts away from the pump's operating point" }
        ---
        rule: chiller-sensor-drift
        description: >
          A running chiller's readings change slowly; one whose last 20 s leave its 5-minute
          average is drifting.
        scope: { type: chiller }
        when: >
          (running == 1 and (abs(avg(supply_temperature, 20s) - avg(supply_temperature, 5m)) > 0.8
          or abs(avg(return_temperature, 20s) - avg(return_temperature, 5m)) > 1.2
          or abs(avg(compressor_current, 20s) - avg(compressor_current, 5m)) > 12
          or abs(avg(power, 20s) - avg(power, 5m)) > 7))
          for 10s
        do:
          - alarm: { type: sensor_drift, severity: warning, message: "a reading drifts away from the chiller's operating point" }
        ---
        rule: pump-anomaly
        description: >
          The node's detector learns each signal's normal behaviour; a score that stays high for
          10 s on a signal the rules above do not explain is worth a look (no command).
        scope: { type: pump }
        when: >
          (anomaly(flow) > 0.9 or anomaly(pressure) > 0.9 or anomaly(motor_current) > 0.9
          or anomaly(speed) > 0.9) for 10s
        do:
          - alarm: { type: anomaly, severity: minor, message: "unusual behaviour (detector score above 0.9)" }
        ---
        rule: chiller-anomaly
        description: The chiller counterpart of pump-anomaly (no command).
        scope: { type: chiller }
        when: >
          (anomaly(supply_temperature) > 0.9 or anomaly(return_temperature) > 0.9 or anomaly(power) > 0.9) for 10s
        do:
          - alarm: { type: anomaly, severity: minor, message: "unusual behaviour (detector score above 0.9)" }
        ---
        failsafe: pump
        # Telemetry stopped (3 × the learned cadence, at least 30 s) or the pump went offline:
        # below half speed no fault can progress while nobody can see it.
        command: { name: set_speed, params: { rpm: 1200 } }
        staleAfter: 3
        minimumStale: 30s
        onOffline: true
        onUnhealthy: false   # a bad sensor raises an alarm (rules above); it does not slow the pump
        ---
        failsafe: chiller
        command: { name: set_load, params: { percent: 50 } }
        staleAfter: 3
        minimumStale: 30s
        onOffline: true
        onUnhealthy: false
        """
}
