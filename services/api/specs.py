"""From a `POST /v1/jobs` body to the `JobSpec` every executor can run.

A definition job is checked here, before anything is accepted: the definition must exist (else 404
with the versions that do), and `params` must pass the definition's pydantic schema (else 422 naming
the failing field, e.g. `params.numbers.0`). Retry policy precedence: the request's `retryPolicy`
fields, then the definition's policy, then the API default (BACKOFF_* settings).
"""

from typing import Any

from pydantic import ValidationError

from services.api.errors import ApiError
from services.api.schemas import JobCreate
from shared.definitions import DefinitionRegistry, JobDefinition
from shared.definitions import registry as builtin_registry
from shared.events import JobSpec, RetryPolicy

_FIELD_NAMES = {"baseSeconds": "base_seconds", "maxSeconds": "max_seconds", "factor": "factor", "jitter": "jitter"}


def retry_policy(body: JobCreate, base: RetryPolicy) -> RetryPolicy:
    if body.retryPolicy is None:
        return base
    given = body.retryPolicy.model_dump(exclude_unset=True)
    policy = base.model_copy(update={_FIELD_NAMES[name]: value for name, value in given.items()})
    if policy.max_seconds < policy.base_seconds:
        raise ApiError(
            422,
            "validation_error",
            "retryPolicy.maxSeconds: must be >= baseSeconds",
            details=[{"field": "retryPolicy.maxSeconds", "message": "must be >= baseSeconds"}],
        )
    return policy


def resolve_definition(registry: DefinitionRegistry, key: str, version: int | None) -> JobDefinition:
    definition = registry.get(key, version)
    if definition is None:
        raise ApiError(
            404,
            "unknown_definition",
            f"no definition {key}@{version or 'latest'}",
            knownVersions=registry.versions(key),
        )
    return definition


def validate_params(definition: JobDefinition, params: dict[str, Any]) -> None:
    try:
        definition.params.model_validate(params)
    except ValidationError as error:
        details = [
            {
                "field": ".".join(["params", *(str(part) for part in item["loc"])]),
                "message": item["msg"],
                "type": item["type"],
            }
            for item in error.errors()
        ]
        first = details[0]
        raise ApiError(
            422,
            "validation_error",
            f"{first['field']}: {first['message']} (definition {definition.ref})",
            details=details,
        ) from error


def spec_from_request(
    body: JobCreate, registry: DefinitionRegistry | None = None, default_retry: RetryPolicy | None = None
) -> JobSpec:
    registry = registry or builtin_registry
    default_retry = default_retry or RetryPolicy()
    common: dict[str, Any] = dict(
        priority=body.priority,
        timeout_seconds=body.timeoutSeconds,
        capability=body.capability,
        labels=body.labels,
        job_name=body.jobName,
        retry=retry_policy(body, default_retry),
        memory_threshold_bytes=body.memoryThresholdBytes,
        kill_on_memory_threshold=body.killOnMemoryThreshold,
    )
    if body.definitionKey is not None:
        definition = resolve_definition(registry, body.definitionKey, body.definitionVersion)
        validate_params(definition, body.params)
        return JobSpec(
            kind="python",
            definition_key=definition.key,
            definition_version=definition.version,
            params=body.params,
            max_attempts=body.maxAttempts or definition.default_max_attempts,
            **{
                **common,
                "timeout_seconds": body.timeoutSeconds or definition.timeout_seconds,
                "capability": body.capability or definition.capability,
                "retry": retry_policy(body, definition.retry or default_retry),
            },
        )
    if body.kind == "native":
        if not body.program:
            raise ApiError(
                422, "validation_error", "program: required for kind 'native'", details=[{"field": "program"}]
            )
        return JobSpec(
            kind="native",
            program=body.program,
            args=[str(a) for a in body.args],
            max_attempts=body.maxAttempts or 1,
            **common,
        )
    if body.kind == "shell":
        if not body.command:
            raise ApiError(
                422, "validation_error", "command: required for kind 'shell'", details=[{"field": "command"}]
            )
        return JobSpec(
            kind="shell",
            command=body.command,
            max_attempts=body.maxAttempts or 1,
            **{**common, "capability": body.capability or "shell"},
        )
    if body.kind == "http.post":
        if body.url is None:
            raise ApiError(422, "validation_error", "url: required for kind 'http.post'", details=[{"field": "url"}])
        return JobSpec(
            kind="http.post",
            url=str(body.url),
            http_body=body.body,
            http_headers=body.headers,
            max_attempts=body.maxAttempts or 1,
            **{**common, "capability": body.capability or "http"},
        )
    if body.kind == "python":
        raise ApiError(
            422,
            "validation_error",
            "definitionKey: required for a Python definition job",
            details=[{"field": "definitionKey"}],
        )
    raise ApiError(
        422,
        "validation_error",
        "give either definitionKey or kind (native, shell, http.post)",
        details=[{"field": "definitionKey"}, {"field": "kind"}],
    )
