"""BACKOFF_* settings become the API's default retry policy, and the request/definition/default
precedence of retry policies (pure: no servers)."""

import pytest

from services.api.errors import ApiError
from services.api.schemas import JobCreate
from services.api.settings import ApiSettings
from services.api.specs import spec_from_request
from shared.definitions import registry
from shared.events import RetryPolicy


def test_backoff_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKOFF_BASE_SECONDS", "2.5")
    monkeypatch.setenv("BACKOFF_MAX_SECONDS", "90")
    monkeypatch.setenv("BACKOFF_JITTER_PERCENT", "0.1")
    policy = ApiSettings().default_retry_policy()
    assert (policy.base_seconds, policy.max_seconds, policy.jitter) == (2.5, 90, 0.1)


def test_jitter_above_one_is_read_as_percent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKOFF_JITTER_PERCENT", "30")
    assert ApiSettings().default_retry_policy().jitter == pytest.approx(0.3)


DEFAULT = RetryPolicy(base_seconds=7, max_seconds=70, factor=3, jitter=0.2)


def test_default_policy_applies_to_jobs_that_name_none() -> None:
    spec = spec_from_request(JobCreate(kind="native", program="/bin/true"), registry, DEFAULT)
    assert spec.retry == DEFAULT


def test_definition_policy_beats_the_default() -> None:
    body = JobCreate(definitionKey="call.api", params={"endpoint": "http://x.test/"})
    spec = spec_from_request(body, registry, DEFAULT)
    assert spec.retry == registry.get("call.api", 1).retry


def test_request_fields_override_only_what_they_name() -> None:
    body = JobCreate(kind="native", program="/bin/true", retryPolicy={"baseSeconds": 0.5})
    spec = spec_from_request(body, registry, DEFAULT)
    assert spec.retry == DEFAULT.model_copy(update={"base_seconds": 0.5})


def test_max_below_base_is_refused() -> None:
    body = JobCreate(kind="native", program="/bin/true", retryPolicy={"baseSeconds": 100, "maxSeconds": 10})
    with pytest.raises(ApiError) as raised:
        spec_from_request(body, registry, DEFAULT)
    assert raised.value.status_code == 422


def test_definition_defaults_fill_attempts_and_timeout() -> None:
    spec = spec_from_request(
        JobCreate(definitionKey="compute.math", params={"operation": "sum", "numbers": [1]}), registry, DEFAULT
    )
    assert (spec.max_attempts, spec.timeout_seconds, spec.definition_version) == (2, 300, 1)
