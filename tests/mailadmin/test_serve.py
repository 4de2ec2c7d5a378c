"""`manage.py serve` (what `make run` ends with) starts the web server with a worker and beat,
and stops all of them on Ctrl-C and on SIGTERM. Runs on the embedded defaults (SQLite, the
filesystem broker) in a temporary folder, exactly as a newcomer's laptop would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_runs_web_and_worker_and_stops_both(tmp_path, stop_signal):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {"DEBUG": "1", "MAILADMIN_VAR_DIR": str(tmp_path)}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    port = free_port()
    server = subprocess.Popen(
        [*manage, "serve", "--addr", f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def login_page_answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        assert wait_until(login_page_answers, 60), "the dashboard did not answer"
        # beat's shelve file (dbm.dumb here: .dat/.dir/.bak) appears once beat has started
        assert wait_until(lambda: any(tmp_path.glob("celerybeat-schedule*")), 60), (
            "the worker with embedded beat did not start"
        )
        worker_pids = {
            pid
            for pid in _pids_matching("celery -A mailadmin worker")
            if _env_var_dir(pid) == tmp_path
        }
        assert worker_pids, "no Celery worker process was started"

        server.send_signal(stop_signal)
        output, _ = server.communicate(timeout=60)
        assert server.returncode == 0, output
        assert "Stopped." in output
        assert wait_until(lambda: not any(_alive(p) for p in worker_pids), 20), output
    finally:
        if server.poll() is None:
            server.kill()


def _pids_matching(text: str) -> set[int]:
    out = subprocess.run(["pgrep", "-f", text], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


def _env_var_dir(pid: int) -> Path | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(b"MAILADMIN_VAR_DIR="):
            return Path(item.split(b"=", 1)[1].decode())
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else "X"
    )
    return state != "Z"
