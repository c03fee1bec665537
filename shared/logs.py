"""One logging format for every service: time, service, level, message."""

import logging
import sys


def setup_logging(service: str, level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for noisy in ("aiokafka", "kafka", "faust", "mode", "apscheduler", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
