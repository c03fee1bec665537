"""What route handlers depend on, built once in the app's lifespan and injected with `Depends`."""

from dataclasses import dataclass
from typing import Annotated

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request
from motor.motor_asyncio import AsyncIOMotorDatabase

from services.api.queries import JobQueries
from services.api.schedules import ScheduleService
from services.api.settings import ApiSettings
from services.api.submission import JobSubmitter
from services.api.workers import WorkerDirectory


@dataclass
class Services:
    settings: ApiSettings
    db: AsyncIOMotorDatabase
    producer: AIOKafkaProducer
    submitter: JobSubmitter
    jobs: JobQueries
    schedules: ScheduleService
    workers: WorkerDirectory


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop on every request
    # (a fifth of the API's CPU per job submission, measured 2026-11-23).
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
