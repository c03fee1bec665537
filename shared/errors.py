"""Errors that carry their retry decision, so callers never guess from a message string."""


class JobstreamError(Exception):
    retryable: bool = False


class RetryableError(JobstreamError):
    """A transient failure (network, 5xx, broker unavailable): trying again may succeed."""

    retryable = True


class PermanentError(JobstreamError):
    """A failure that will repeat (bad input, 4xx, unknown definition): do not retry."""

    retryable = False


class UndecodableMessage(PermanentError):
    """A Kafka message that is not a known event; it goes to the dead-letter topic."""
