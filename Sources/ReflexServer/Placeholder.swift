public import ReflexMQTT
