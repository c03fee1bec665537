"""Executor: consumes job requests, runs attempts (native, shell, HTTP POST, Python), reports outcomes."""
