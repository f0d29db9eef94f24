"""MQTT "hub v1" receiver: punches, acks, commands."""
