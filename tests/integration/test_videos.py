"""Seed 002's video endpoints with real FFmpeg: upload, encode, follow, download."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import StackUnderTest, wait_for

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=640x360:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
            "-shortest",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "5",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path.read_bytes()


def probe(path: Path) -> list[str]:
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,height", "-of", "csv=p=0", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return sorted(line.strip().rstrip(",") for line in output.splitlines() if line.strip())


def test_upload_encode_and_download(running_stack: StackUnderTest, clip: bytes, tmp_path: Path) -> None:
    # Given a video upload larger than the API's ordinary body limit (64 KB in tests)
    assert len(clip) > 64 * 1024
    response = running_stack.http.post(
        "/v1/videos/encode",
        files={"video": ("my clip.mp4", clip, "video/mp4")},
        data={"format": "mp4", "quality": "720p", "priority": "10"},
    )
    assert response.status_code == 201, response.text
    accepted = response.json()
    assert accepted["status"] == "queued" and accepted["inputFile"].endswith("-my_clip.mp4")

    # When the encoding job has run
    def finished() -> dict | None:
        status = running_stack.http.get(f"/v1/videos/{accepted['jobId']}/status").json()
        return status if status["status"] in {"succeeded", "failed", "dead_lettered"} else None

    status = wait_for(finished, 120, interval=0.5, what="the encoding job")
    assert status["status"] == "succeeded", status
    assert status["outputFilename"].endswith("-720p.mp4")
    assert status["downloadUrl"] == f"/v1/videos/{accepted['jobId']}/download"
    assert status["progress"] == 100.0

    # Then the download is a real 720p H.264 video with its audio
    download = running_stack.http.get(status["downloadUrl"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/mp4"
    encoded = tmp_path / "encoded.mp4"
    encoded.write_bytes(download.content)
    assert probe(encoded) == ["aac", "h264,720"]


def test_video_endpoints_refuse_bad_requests(running_stack: StackUnderTest) -> None:
    empty = running_stack.http.post("/v1/videos/encode", files={"video": ("x.mp4", b"", "video/mp4")})
    assert empty.status_code == 422
    bad_quality = running_stack.http.post(
        "/v1/videos/encode", files={"video": ("x.mp4", b"abc", "video/mp4")}, data={"quality": "8k"}
    )
    assert bad_quality.status_code == 422
    missing = running_stack.http.post("/v1/videos/encode", data={"quality": "720p"})
    assert missing.status_code == 422
    echo = running_stack.submit({"definitionKey": "echo", "params": {"message": "not a video"}})
    assert running_stack.http.get(f"/v1/videos/{echo}/status").status_code == 404
    assert running_stack.http.get(f"/v1/videos/{echo}/download").status_code == 404


def test_a_file_that_is_not_a_video_fails_the_job(running_stack: StackUnderTest) -> None:
    response = running_stack.http.post("/v1/videos/encode", files={"video": ("notes.mp4", b"not a video", "video/mp4")})
    job_id = response.json()["jobId"]
    job = running_stack.wait_status(job_id, {"failed", "dead_lettered"}, timeout=60)
    assert "ffmpeg exited" in job["error"]
    assert running_stack.http.get(f"/v1/videos/{job_id}/download").json()["error"]["code"] == "video_not_ready"
