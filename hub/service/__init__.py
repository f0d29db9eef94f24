"""The long-running hub process: web, push endpoints, MQTT listener and scheduler."""
