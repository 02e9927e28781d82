public import ReflexCore

/// A parameter check that failed, carrying the ack to send.
struct Rejection: Error {
    var result: CommandResult
    init(_ result: CommandResult) { self.result = result }
}

extension VirtualDevice {
    /// Applies a command and says what happened. Validation: the command must exist for this kind
    /// of device, its parameters must be numbers within bounds, and a failed device accepts only
    /// `stop` (it needs repair before `start`).
    public mutating func apply(_ command: String, params: [String: JSONValue]) -> CommandResult {
        guard kind.commands.contains(command) else {
            return .rejected(
                "unknown command '\(command)' for \(kind) '\(id)'; known: \(kind.commands.joined(separator: ", "))"
            )
        }
        if let failure, command != "stop" {
            return .rejected(
                "\(kind) '\(id)' has failed (\(failure)) and is stopped; it needs repair before '\(command)'"
            )
        }
        switch physics {
        case .pump(var pump):
            let result = Self.apply(command, params: params, to: &pump)
            physics = .pump(pump)
            return result
        case .chiller(var chiller):
            let result = Self.apply(command, params: params, to: &chiller)
            physics = .chiller(chiller)
            return result
        }
    }

    private static func number(
        _ name: String,
        in params: [String: JSONValue],
        range: ClosedRange<Double>,
        unit: String,
        command: String
    ) -> Result<Double, Rejection> {
        guard let value = params[name] else {
            return .failure(
                Rejection(.rejected("\(command) needs params.\(name): a number in \(bounds(range)) \(unit)"))
            )
        }
        guard let number = value.number, number.isFinite else {
            return .failure(
                Rejection(.rejected("\(command): params.\(name) must be a number in \(bounds(range)) \(unit)"))
            )
        }
        guard range.contains(number) else {
            return .failure(
                Rejection(
                    .rejected("\(command): \(name) \(format(number)) \(unit) is out of range \(bounds(range)) \(unit)")
                )
            )
        }
        return .success(number)
    }

    static func bounds(_ range: ClosedRange<Double>) -> String {
        "\(format(range.lowerBound))...\(format(range.upperBound))"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    private static func apply(_ command: String, params: [String: JSONValue], to pump: inout PumpState) -> CommandResult
    {
        switch command {
        case "set_speed":
            switch number("rpm", in: params, range: 0...PumpState.ratedSpeed, unit: "rpm", command: command) {
            case .failure(let rejection): return rejection.result
            case .success(let rpm):
                pump.speedSetpoint = rpm
                if rpm == 0 {
                    pump.isRunning = false
                    return .done("speed set to 0 rpm: pump stopping")
                }
                return .done(
                    "speed set to \(format(rpm)) rpm\(pump.isRunning ? "" : " (pump is stopped; 'start' to run)")"
                )
            }
        case "stop":
            pump.isRunning = false
            return .done("pump stopping")
        case "start":
            if pump.speedSetpoint == 0 { pump.speedSetpoint = PumpState.defaultSpeed }
            pump.isRunning = true
            return .done("pump starting at \(format(pump.speedSetpoint)) rpm")
        default:
            return .rejected("unknown command '\(command)' for pump")
        }
    }

    private static func apply(
        _ command: String,
        params: [String: JSONValue],
        to chiller: inout ChillerState
    )
        -> CommandResult
    {
        switch command {
        case "set_setpoint":
            switch number("celsius", in: params, range: ChillerState.setpointRange, unit: "°C", command: command) {
            case .failure(let rejection): return rejection.result
            case .success(let celsius):
                chiller.setpoint = celsius
                return .done("supply setpoint set to \(format(celsius)) °C")
            }
        case "set_load":
            switch number("percent", in: params, range: ChillerState.loadRange, unit: "%", command: command) {
            case .failure(let rejection): return rejection.result
            case .success(let percent):
                chiller.loadSetpoint = percent
                return .done("load limit set to \(format(percent)) %")
            }
        case "stop":
            chiller.isRunning = false
            return .done("chiller stopping")
        case "start":
            chiller.isRunning = true
            return .done("chiller starting at \(format(chiller.loadSetpoint)) % load")
        default:
            return .rejected("unknown command '\(command)' for chiller")
        }
    }
}
