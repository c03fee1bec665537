"""`jobstream register-definitions` publishes definitions; `GET /v1/definitions` lists them in
seed 002's shape, merged with the built-ins."""

import os
import subprocess
import sys

import httpx
from pymongo import MongoClient

from infra.processes import free_port
from shared import mongo
from shared.events import DefinitionRegistered, dump
from tests.conftest import StackUnderTest, wait_for

SEED_FIELDS = {"key", "version", "defaultMaxAttempts", "timeoutSeconds", "concurrencyLimit"}


def definitions(running_stack: StackUnderTest) -> dict[str, dict]:
    response = running_stack.http.get("/v1/definitions")
    assert response.status_code == 200
    return {f"{entry['key']}@{entry['version']}": entry for entry in response.json()["definitions"]}


def test_builtins_are_listed_in_the_seed_shape(running_stack: StackUnderTest) -> None:
    listed = definitions(running_stack)
    expected = {"echo@1", "failing@1", "compute.math@1", "process.data@1", "call.api@1", "process.batch@1"}
    assert expected <= set(listed)
    assert all(SEED_FIELDS <= set(entry) for entry in listed.values())
    math = listed["compute.math@1"]
    assert (math["defaultMaxAttempts"], math["timeoutSeconds"], math["concurrencyLimit"]) == (2, 300, 4)
    assert math["paramsSchema"]["properties"]["operation"]["enum"] == ["sum", "product", "fibonacci", "prime"]


def test_register_definitions_publishes_a_users_module(running_stack: StackUnderTest) -> None:
    # When the CLI registers a module the API process has never imported
    completed = subprocess.run(
        [sys.executable, "-m", "infra.cli", "register-definitions", "--module", "tests.integration.custom_definitions"],
        env={**os.environ, "KAFKA_BOOTSTRAP": running_stack.stack.bootstrap},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert "greet@2" in completed.stdout

    # Then the API lists it with its metadata, and the built-ins show as registered too
    greet = wait_for(lambda: definitions(running_stack).get("greet@2"), 30, what="greet@2 in GET /v1/definitions")
    assert greet["defaultMaxAttempts"] == 4 and greet["timeoutSeconds"] == 90 and greet["concurrencyLimit"] == 3
    assert greet["retryPolicy"] == {"baseSeconds": 2, "maxSeconds": 30, "factor": 3, "jitter": 0.1}
    assert greet["registered"] is True and greet["builtIn"] is False
    assert definitions(running_stack)["echo@1"]["registered"] is True

    # And jobs can be submitted for it, with its defaults
    job_id = running_stack.submit({"definitionKey": "greet", "definitionVersion": 2, "params": {"name": "ada"}})
    assert running_stack.job(job_id)["maxAttempts"] == 4
    versions = running_stack.http.get("/v1/definitions/greet").json()["definitions"]
    assert [entry["version"] for entry in versions] == [2]
    assert running_stack.http.get("/v1/definitions/nope").status_code == 404


def test_registered_definitions_are_stored_and_restored(running_stack: StackUnderTest) -> None:
    # The API keeps every registration it reads in its own collection
    records = MongoClient(running_stack.stack.mongo_url)["jobstream"][mongo.DEFINITION_RECORDS]
    stored = wait_for(lambda: records.find_one({"_id": "greet@2"}), 30, what="greet@2 stored")
    assert stored["registration"]["timeout_seconds"] == 90

    # Given a registration the API stored before the broker lost its log (written as the API would)
    restored = DefinitionRegistered(key="restored.job", version=5, default_max_attempts=2, timeout_seconds=12)
    records.replace_one({"_id": restored.ref}, {"_id": restored.ref, "registration": dump(restored)}, upsert=True)

    # When another API instance starts
    port = free_port()
    api = running_stack.stack.start_service("api", env={"PORT": str(port)}, instance="restore")
    try:
        api.wait_for_port(port, 60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as other:
            # Then it lists the stored definition at once
            listed = {f"{d['key']}@{d['version']}": d for d in other.get("/v1/definitions").json()["definitions"]}
            assert listed["restored.job@5"]["timeoutSeconds"] == 12
    finally:
        api.stop()
        running_stack.stack.processes.remove(api)
    # And it published it again, so every API instance knows it
    entry = wait_for(lambda: definitions(running_stack).get("restored.job@5"), 30, what="the republished definition")
    assert entry["defaultMaxAttempts"] == 2
