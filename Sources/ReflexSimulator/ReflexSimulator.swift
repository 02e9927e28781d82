/// Virtual devices with plausible physics, noise, daily cycles and injected faults, that connect
/// to an MQTT broker as real devices and obey commands.
public enum ReflexSimulator {}
