"""Every Kafka topic and consumer group jobstream uses, with partitions and configs. No topic
string appears anywhere else.

Job topics share one partition count and are keyed by job_id, so a job's events stay ordered in one
partition and the Faust apps can join them co-partitioned.
"""

from dataclasses import dataclass, field

JOB_PARTITIONS = 6


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = JOB_PARTITIONS
    config: dict[str, str] = field(default_factory=dict)


JOB_REQUESTED = "job-requested"
JOB_STARTED = "job-started"
JOB_FINISHED = "job-finished"
JOB_EVENTS = "job-events"  # progress and hook events emitted while an attempt runs
JOB_CONTROL = "job-control"  # commands: cancel, orphaned-attempt notices
HEARTBEATS = "heartbeats"
SCHEDULES = "schedules"
DEFINITIONS = "definitions"
ALERTS = "alerts"
DEAD_LETTER = "dead-letter"  # messages no consumer could decode, with the reason

_COMPACT = {"cleanup.policy": "compact"}

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(JOB_REQUESTED),
    TopicSpec(JOB_STARTED),
    TopicSpec(JOB_FINISHED),
    TopicSpec(JOB_EVENTS),
    TopicSpec(JOB_CONTROL),
    TopicSpec(HEARTBEATS),
    TopicSpec(SCHEDULES, config=_COMPACT),
    TopicSpec(DEFINITIONS, partitions=1, config=_COMPACT),
    TopicSpec(ALERTS),
    TopicSpec(DEAD_LETTER, partitions=1),
)

# Capability routing: a request an executor cannot run (it lacks `spec.capability`) is forwarded to
# `job-requested.<capability>`. Executors subscribe, in the same group, to the topic of each capability
# they advertise; the group assigns a topic's partitions only among members subscribed to it, so such a
# request waits there until an executor with that capability is up. Created on demand (custom tags).
CAPABILITY_TOPIC_PREFIX = f"{JOB_REQUESTED}."
CAPABILITY_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$"  # legal in a Kafka topic name


def capability_topic(capability: str) -> str:
    return f"{CAPABILITY_TOPIC_PREFIX}{capability}"


# Consumer groups and Faust app ids.
GROUP_EXECUTOR = "jobstream-executor"
GROUP_SCHEDULER = "jobstream-scheduler"
# Owners of `schedules` partitions: a rebalance of this group is the scheduler failover.
GROUP_SCHEDULER_CRON = "jobstream-scheduler-cron"
APP_ANALYTICS = "jobstream-analytics"
APP_WORKER_REGISTRY = "jobstream-worker-registry"
