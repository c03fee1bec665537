"""Capability routing rules shared by the API (admission, pinning) and the executors (forwarding).

A job needs `spec.capability` (None: any executor). Every executor also has the implicit capability
`worker.<worker_id>`, so pinning a job to one worker is ordinary capability routing.
"""

import re

from shared.events import JobSpec
from shared.topics import CAPABILITY_PATTERN

PINNED_PREFIX = "worker."
_VALID = re.compile(CAPABILITY_PATTERN)


def required_capability(spec: JobSpec) -> str | None:
    return spec.capability


def pinned_capability(worker_id: str) -> str:
    return f"{PINNED_PREFIX}{worker_id}"


def is_valid_capability(name: str) -> bool:
    """Usable as part of a Kafka topic name (capabilities become `job-requested.<capability>`)."""
    return bool(_VALID.match(name))


def can_run(capabilities: set[str], spec: JobSpec) -> bool:
    needed = required_capability(spec)
    return needed is None or needed in capabilities
