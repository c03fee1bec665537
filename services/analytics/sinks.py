"""Alert sinks: where an alert goes after it is persisted and published on the `alerts` topic.

A sink is any object with `async send(alert)`. The analytics app reads the `alerts` topic (so a sink
sees every alert at least once, also after a crash) and hands each alert to every configured sink:
`log` always, `webhook` when ALERT_WEBHOOK_URL is set (POST of the alert as JSON, retried with
exponential backoff; the body carries `alertId` so the receiver can drop a redelivery).
"""

import asyncio
import logging
from typing import Protocol

import httpx

from shared.events import JobAlerted

log = logging.getLogger("alerts")


class Sink(Protocol):
    async def send(self, alert: JobAlerted) -> None: ...


class LogSink:
    async def send(self, alert: JobAlerted) -> None:
        level = logging.CRITICAL if alert.severity == "critical" else logging.ERROR
        log.log(level, "ALERT %s [%s] %s", alert.alert_id, alert.reason, alert.message)


def alert_payload(alert: JobAlerted) -> dict[str, object]:
    return {
        "alertId": alert.alert_id,
        "severity": alert.severity,
        "reason": alert.reason,
        "message": alert.message,
        "jobId": alert.job_id,
        "attempt": alert.attempt,
        "jobName": alert.job_name,
        "definitionKey": alert.definition_key,
        "error": alert.error,
        "exitCode": alert.exit_code,
        "occurredAt": alert.occurred_at.isoformat(),
    }


class WebhookSink:
    """POST each alert; 5xx, 429 and network errors are retried, other 4xx are not (they will repeat)."""

    def __init__(
        self,
        url: str,
        attempts: int = 5,
        backoff_seconds: float = 0.5,
        timeout: float = 5.0,
        headers: dict[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._client = client or httpx.AsyncClient(timeout=timeout, headers=headers or {})

    async def send(self, alert: JobAlerted) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                response = await self._client.post(self.url, json=alert_payload(alert))
                if response.status_code < 400:
                    return
                if response.status_code < 500 and response.status_code != 429:
                    log.error("webhook refused alert %s: HTTP %d", alert.alert_id, response.status_code)
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                problem = repr(error)
            if attempt < self.attempts:
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        log.error("webhook gave up on alert %s after %d attempts: %s", alert.alert_id, self.attempts, problem)

    async def close(self) -> None:
        await self._client.aclose()


async def deliver(sinks: list[Sink], alert: JobAlerted) -> None:
    """Every sink gets the alert; one failing sink does not stop the others."""
    for sink in sinks:
        try:
            await sink.send(alert)
        except Exception:
            log.exception("alert sink %s failed for %s", type(sink).__name__, alert.alert_id)
