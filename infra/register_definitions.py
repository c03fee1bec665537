"""`jobstream register-definitions`: publish every job definition's metadata to the compacted
`definitions` topic (keyed `key@version`), where the API picks it up for `GET /v1/definitions`.

Definitions are Python code: the built-ins are always included; `--module my_app.jobs` imports
your own modules first so the definitions they declare (`@registry.define(...)`) are published too.
"""

import importlib

from shared import kafka, topics
from shared.definitions import DefinitionRegistry, registry
from shared.settings import ServiceSettings

PRODUCER = "register-definitions"


def load(modules: list[str]) -> DefinitionRegistry:
    for module in modules:
        importlib.import_module(module)
    return registry


async def publish_definitions(settings: ServiceSettings, definitions: DefinitionRegistry) -> list[str]:
    await kafka.create_topics(settings.kafka_bootstrap)
    producer = kafka.make_producer(settings, PRODUCER)
    await producer.start()
    try:
        deliveries = [
            await kafka.publish(producer, topics.DEFINITIONS, definition.registration(PRODUCER), key=definition.ref)
            for definition in definitions.all()
        ]
        for delivery in deliveries:
            await delivery
    finally:
        await producer.stop()
    return [definition.ref for definition in definitions.all()]
