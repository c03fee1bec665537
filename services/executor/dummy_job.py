#!/usr/bin/env python3
"""The bundled example job (seed 000's dummy-job): `dummy_job.py JOB_NAME [ARG ...]`.

It works for a while, holds some memory and fails 15% of the time, so retries and statistics have
something to show. Behaviour is tunable per run through environment variables or arguments of the
form key=value: duration_ms (default 200), memory_mb (default 5), fail_rate (default 0.15),
exit_code (forces an exit code).
"""

import os
import random
import sys
import time


def option(args: list[str], name: str, default: str) -> str:
    for arg in args:
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return os.environ.get(f"DUMMY_{name.upper()}", default)


def main(argv: list[str]) -> int:
    job_name, args = (argv[0] if argv else "dummy"), argv[1:]
    duration = float(option(args, "duration_ms", "200")) / 1000
    memory = bytearray(int(float(option(args, "memory_mb", "5")) * 1024 * 1024))
    memory[::4096] = b"x" * len(memory[::4096])  # touch every page so it counts as resident
    print(f"{job_name}: working {duration:.2f}s with {len(memory) // 1024**2} MB, args={args!r}", flush=True)
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        sum(range(2000))
        time.sleep(0.005)
    forced = option(args, "exit_code", "")
    if forced:
        return int(forced)
    if random.random() < float(option(args, "fail_rate", "0.15")):
        print(f"{job_name}: random failure", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
