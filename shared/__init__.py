"""Code every jobstream service shares: event schemas, topic names, settings, Kafka/Mongo/telemetry helpers.

Services never import each other; they meet only here and on Kafka topics.
"""
