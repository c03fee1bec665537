"""Scheduler: timers (delayed retries, one-off runs) and cron schedules, on APScheduler."""
