"""CPU-bound job code runs in a spawned process (which imports the definitions module first)."""

import subprocess
import sys

import pytest

from services.executor.python_runner import CpuPool
from shared.builtin_definitions import compute


async def test_compute_runs_in_a_spawned_worker() -> None:
    pool = CpuPool(1)
    try:
        assert await pool.run(compute, "fibonacci", [20]) == {"fibonacci": {"20": 6765}}
    finally:
        pool.close()


@pytest.mark.parametrize("module", ["shared.builtin_definitions", "shared.video", "shared.definitions"])
def test_definition_modules_import_in_any_order(module: str) -> None:
    code = f"import {module}; from shared.definitions import registry; print(len(registry.all()))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout) >= 10
