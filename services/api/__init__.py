"""API gateway: FastAPI routes that publish commands to Kafka and answer queries from projections."""
