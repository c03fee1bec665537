"""The jobstream services. Each subpackage runs as its own process and talks to the others only
through Kafka topics (see shared/topics.py)."""
