"""Seed 002's video endpoints: upload a video and encode it (`encode.video@1`), follow the job,
download the result.

The upload is stored under VIDEO_DIR/uploads and the job writes to VIDEO_DIR/outputs, so VIDEO_DIR
must be a folder the API and the executors share (the same machine in the embedded stack, a shared
volume otherwise). Downloads are served only from VIDEO_DIR.
"""

import asyncio
import re
import shutil
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from services.api.deps import ServicesDep
from services.api.errors import ApiError
from services.api.schemas import JobCreate
from services.api.specs import spec_from_request

router = APIRouter(prefix="/v1/videos", tags=["videos"])
UPLOAD_PATH = "/v1/videos/encode"
DEFINITION = "encode.video"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class VideoAccepted(BaseModel):
    jobId: str
    status: str
    message: str
    inputFile: str


class VideoStatus(BaseModel):
    jobId: str
    status: str
    definitionKey: str
    progress: float | None = None
    outputPath: str | None = None
    outputFilename: str | None = None
    downloadUrl: str | None = None
    error: str | None = None


def safe_name(filename: str | None) -> str:
    name = _UNSAFE.sub("_", Path(filename or "video").name).strip("._") or "video"
    return f"{int(time.time() * 1000)}-{name[-150:]}"


@router.post("/encode", response_model=VideoAccepted, status_code=201)
async def encode(
    services: ServicesDep,
    video: Annotated[UploadFile, File(description="the video to encode")],
    format: Annotated[Literal["mp4", "webm"], Form()] = "mp4",
    quality: Annotated[Literal["720p", "1080p", "4k"], Form()] = "1080p",
    priority: Annotated[int, Form(ge=-1000, le=1000)] = 0,
) -> VideoAccepted:
    folder = Path(services.settings.video_dir).resolve()  # noqa: ASYNC240 - one stat call
    uploads, outputs = folder / "uploads", folder / "outputs"
    uploads.mkdir(parents=True, exist_ok=True)
    target = uploads / safe_name(video.filename)

    def store() -> int:
        with open(target, "wb") as out:
            shutil.copyfileobj(video.file, out, 1024 * 1024)
        return target.stat().st_size

    if await asyncio.to_thread(store) == 0:
        target.unlink(missing_ok=True)
        raise ApiError(422, "validation_error", "video: the uploaded file is empty", details=[{"field": "video"}])
    body = JobCreate(
        definitionKey=DEFINITION,
        definitionVersion=1,
        priority=priority,
        params={"inputPath": str(target), "outputDir": str(outputs), "format": format, "quality": quality},
    )
    spec = spec_from_request(body, None, services.settings.default_retry_policy())
    accepted = await services.submitter.submit(spec)
    return VideoAccepted(
        jobId=accepted.job_id, status="queued", message="Video encoding job created", inputFile=target.name
    )


async def _video_job(services: Any, job_id: str) -> dict[str, Any]:
    document = await services.jobs.get(job_id)
    if document is None or document.get("definition_key") != DEFINITION:
        raise ApiError(404, "video_job_not_found", f"no video encoding job {job_id}")
    return document


@router.get("/{job_id}/status", response_model=VideoStatus)
async def status(job_id: str, services: ServicesDep) -> VideoStatus:
    document = await _video_job(services, job_id)
    result = document.get("result") if isinstance(document.get("result"), dict) else {}
    progress = [
        entry["data"].get("percent")
        for entry in document.get("events", [])
        if entry.get("type") == "job.progressed" and entry.get("name") == "progress"
    ]
    done = document.get("status") == "succeeded"
    return VideoStatus(
        jobId=job_id,
        status=document.get("status") or "queued",
        definitionKey=DEFINITION,
        progress=progress[-1] if progress else None,
        outputPath=result.get("outputPath"),
        outputFilename=result.get("outputFilename"),
        error=document.get("error"),
        downloadUrl=f"/v1/videos/{job_id}/download" if done else None,
    )


@router.get("/{job_id}/download", response_class=FileResponse)
async def download(job_id: str, services: ServicesDep) -> FileResponse:
    document = await _video_job(services, job_id)
    if document.get("status") != "succeeded":
        raise ApiError(
            409,
            "video_not_ready",
            f"job {job_id} is {document.get('status') or 'queued'}",
            status=document.get("status"),
        )
    result = document.get("result") or {}
    path = Path(result.get("outputPath") or "").resolve()  # noqa: ASYNC240 - one stat call
    if not path.is_relative_to(Path(services.settings.video_dir).resolve()) or not path.is_file():  # noqa: ASYNC240 - one stat call
        raise ApiError(404, "video_file_not_found", f"the encoded file of job {job_id} is not available")
    media = "video/webm" if path.suffix == ".webm" else "video/mp4"
    return FileResponse(path, media_type=media, filename=path.name)
