"""`encode.video@1` (seed 002): real video encoding with FFmpeg.

FFmpeg runs as a child process with an argv list (never a shell), reports its position on stdout
(`-progress pipe:1`), and the job turns that into `progress` events with a percentage (the input's
duration comes from ffprobe). Cancel or timeout: the job sees `ctx.abort`, stops FFmpeg (SIGTERM,
then SIGKILL) and removes the partial output.
"""

import asyncio
import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.definitions import JobAborted, JobContext, Params, registry
from shared.errors import PermanentError

HEIGHTS = {"720p": 720, "1080p": 1080, "4k": 2160}
CODECS = {
    "mp4": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-movflags", "+faststart"],
    "webm": ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "33", "-deadline", "realtime", "-c:a", "libopus"],
}
PROGRESS_EVERY_SECONDS = 1.0
STOP_GRACE_SECONDS = 3.0


class EncodeParams(Params):
    inputPath: str = Field(min_length=1, max_length=4096, description="absolute path of the source video")
    outputDir: str | None = Field(None, max_length=4096, description="default: 'outputs' beside the input's folder")
    format: Literal["mp4", "webm"] = "mp4"
    quality: Literal["720p", "1080p", "4k"] = "1080p"


def output_path(params: EncodeParams) -> Path:
    source = Path(params.inputPath)
    folder = Path(params.outputDir) if params.outputDir else source.parent.parent / "outputs"
    return folder / f"{source.stem}-{params.quality}.{params.format}"


def ffmpeg_argv(ffmpeg: str, source: str, target: str, quality: str, container: str) -> list[str]:
    height = HEIGHTS[quality]
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-i",
        source,
        "-map",
        "0:v:0",
        "-map",
        "0:a?",
        "-vf",
        f"scale=-2:{height}",
        *CODECS[container],
        "-progress",
        "pipe:1",
        "-nostats",
        "-loglevel",
        "error",
        target,
    ]


def parse_progress(line: str) -> tuple[str, str] | None:
    key, separator, value = line.strip().partition("=")
    return (key, value) if separator else None


async def probe_duration(ffprobe: str | None, source: str) -> float | None:
    if ffprobe is None:
        return None
    process = await asyncio.create_subprocess_exec(
        ffprobe,
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "csv=p=0",
        source,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    with contextlib.suppress(ValueError):
        return float(out.decode().strip())
    return None


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()


async def encode_video(params: EncodeParams, ctx: JobContext) -> dict[str, object]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise PermanentError("ffmpeg is not installed on this executor (apt-get install ffmpeg)")
    source = Path(params.inputPath)
    if not source.is_file():  # noqa: ASYNC240 - one stat call
        raise PermanentError(f"input file not found: {source}")
    target = output_path(params)
    target.parent.mkdir(parents=True, exist_ok=True)
    duration = await probe_duration(shutil.which("ffprobe"), str(source))
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *ffmpeg_argv(ffmpeg, str(source), str(target), params.quality, params.format),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None and process.stderr is not None
    errors = asyncio.ensure_future(process.stderr.read())
    last_report = 0.0
    try:
        while True:
            reading = asyncio.ensure_future(process.stdout.readline())
            aborted = asyncio.ensure_future(ctx.abort.wait())
            done, _ = await asyncio.wait({reading, aborted}, return_when=asyncio.FIRST_COMPLETED)
            aborted.cancel()
            if reading not in done:
                reading.cancel()
                raise JobAborted("encoding stopped: the job was cancelled or timed out")
            line = reading.result().decode(errors="replace")
            if not line:
                break
            pair = parse_progress(line)
            if pair and pair[0] == "out_time_us" and pair[1].isdigit():
                position = int(pair[1]) / 1_000_000
                if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                    last_report = time.monotonic()
                    percent = min(100.0, round(100 * position / duration, 1)) if duration else None
                    await ctx.emit_event("progress", {"seconds": round(position, 2), "percent": percent})
        code = await process.wait()
    except BaseException:
        await _stop(process)
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    stderr = (await errors).decode(errors="replace").strip()
    if code != 0:
        with contextlib.suppress(OSError):
            target.unlink()
        raise PermanentError(f"ffmpeg exited with {code}: {stderr[-2000:]}")
    await ctx.emit_event("progress", {"seconds": duration, "percent": 100.0})
    return {
        "outputPath": str(target),
        "outputFilename": target.name,
        "format": params.format,
        "quality": params.quality,
        "sizeBytes": os.path.getsize(target),  # noqa: ASYNC240 - one stat call
        "inputDurationSeconds": duration,
        "encodeMs": round((time.monotonic() - started) * 1000, 3),
    }


registry.define(
    "encode.video",
    version=1,
    params=EncodeParams,
    default_max_attempts=2,
    timeout_seconds=7200,
    concurrency_limit=3,
    description="Encodes a video with FFmpeg (mp4/H.264 or webm/VP9; 720p, 1080p or 4k)",
)(encode_video)
