"""Time-ordered job ids (UUID version 7 layout, RFC 9562).

The standard library gains uuid7 only in Python 3.14, so it is built here: 48 bits of Unix
milliseconds then random bits. Ordering by id is ordering by submission time, which lets every list
endpoint page by a keyset range on `_id`, the one index every collection has.
"""

import os
import time
import uuid


def new_job_id() -> str:
    millis = time.time_ns() // 1_000_000
    value = (millis & (2**48 - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def id_floor(millis: int) -> str:
    """The smallest id that could have been made at `millis`: a keyset bound for time ranges."""
    return str(uuid.UUID(int=(millis & (2**48 - 1)) << 80))


def time_id(millis: int, seed: str) -> str:
    """A deterministic id in the same time-ordered layout: the time bits from `millis`, the rest
    from a hash of `seed`. Records derived from events (executions, alerts) get the same id however
    often the events are processed, so inserting them again is a harmless duplicate."""
    import hashlib

    rest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    value = (millis & (2**48 - 1)) << 80 | rest
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def id_millis(value: str) -> int:
    """The millisecond timestamp inside a time-ordered id."""
    return uuid.UUID(value).int >> 80
