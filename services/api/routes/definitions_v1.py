"""`GET /v1/definitions` in seed 002's shape: `{"definitions": [{key, version, defaultMaxAttempts,
timeoutSeconds, concurrencyLimit, ...}]}`, and `GET /v1/definitions/{key}` for one key's versions."""

from typing import Any

from fastapi import APIRouter, Request

from services.api.catalog import DefinitionCatalog
from services.api.errors import ApiError

router = APIRouter(prefix="/v1/definitions", tags=["definitions"])


def catalog(request: Request) -> DefinitionCatalog:
    return request.app.state.definitions


@router.get("")
async def list_definitions(request: Request) -> dict[str, list[dict[str, Any]]]:
    return {"definitions": catalog(request).listing()}


@router.get("/{key}")
async def definition_versions(key: str, request: Request) -> dict[str, list[dict[str, Any]]]:
    found = [entry for entry in catalog(request).listing() if entry["key"] == key]
    if not found:
        raise ApiError(404, "unknown_definition", f"no definition {key}", knownVersions=[])
    return {"definitions": found}
