"""Entry point: `python -m services.api` (or `jobstream-api`) serves the REST gateway with uvicorn."""

import errno
import socket
import sys

import uvicorn

from services.api.app import create_app
from services.api.settings import ApiSettings
from shared.logs import setup_logging
from shared.telemetry import setup_tracing


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def main() -> None:
    settings = ApiSettings()
    setup_logging("api", settings.log_level)
    if not port_is_free(settings.host, settings.port):
        sys.exit(f"api: port {settings.port} on {settings.host} is already in use; set PORT to another port")
    setup_tracing("api", settings.tracing_exporter, settings.tracing_file)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
