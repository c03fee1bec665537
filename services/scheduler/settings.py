from pydantic import Field

from shared.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    # A slot older than this when its schedule is armed (restart, failover, lag) is a misfire and
    # follows the schedule's misfire policy; a younger one is just late and fires.
    misfire_grace_seconds: float = Field(2.0, ge=0, alias="SCHEDULER_MISFIRE_GRACE_SECONDS")
    # The per-second tick runs this long before the slot to render and batch the requests.
    tick_lead_seconds: float = Field(0.5, gt=0, lt=1, alias="SCHEDULER_TICK_LEAD_SECONDS")
    # The cron group's membership timeouts: a kill -9 is noticed after the session timeout and the
    # survivor's join takes about half of it on Tansu (DESIGN.md), so 4 s gives a takeover in ~6-7 s.
    cron_session_timeout_ms: int = Field(4000, ge=1000, alias="SCHEDULER_SESSION_TIMEOUT_MS")
    cron_heartbeat_interval_ms: int = Field(1000, ge=100, alias="SCHEDULER_HEARTBEAT_INTERVAL_MS")
    # Fires of one slot go out as whole batches; compressing them (repetitive JSON, ~10x) keeps a
    # slot with thousands of fires small for the broker. none | gzip
    fire_compression: str = Field("gzip", alias="SCHEDULER_FIRE_COMPRESSION")
    instance_id: str | None = Field(None, alias="SCHEDULER_INSTANCE_ID")
