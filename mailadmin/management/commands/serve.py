"""Run the dashboard together with a Celery worker and embedded beat; Ctrl-C stops all of them.

The worker is a child in its own process group (so a terminal's Ctrl-C reaches only us, and we
stop it in order); it is stopped on Ctrl-C, SIGTERM and when the terminal closes (SIGHUP), and
the whole group is killed if it has not stopped within WORKER_STOP_SECONDS.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

WORKER_STOP_SECONDS = 15


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Serve the dashboard with a Celery worker and beat (development and small installs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address:port to serve on")
        parser.add_argument("--no-worker", action="store_true", help="serve the web only")

    def handle(self, *args: Any, **options: Any) -> None:
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values():
            if isinstance(folder, str):
                os.makedirs(folder, exist_ok=True)
        worker = None if options["no_worker"] else self._start_worker()
        # SIGINT too: a shell that starts us in the background leaves SIGINT ignored.
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        signal.signal(signal.SIGHUP, _raise_keyboard_interrupt)
        try:
            call_command("runserver", options["addr"], use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None:
                self._stop_worker(worker)

    def _start_worker(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable, "-m", "celery", "-A", "mailadmin", "worker", "-B",
            "--loglevel=INFO", "--concurrency=2",
            f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
        ]  # fmt: skip
        self.stdout.write("Starting Celery worker with beat: " + " ".join(command[2:]))
        return subprocess.Popen(command, start_new_session=True)

    def _stop_worker(self, worker: subprocess.Popen[bytes]) -> None:
        self.stdout.write("Stopping the Celery worker…")
        try:
            # SIGTERM to the main process only: a warm shutdown stops its pool and beat cleanly.
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        except ProcessLookupError:
            pass
        # Whatever is left of its group (a pool child orphaned by an early signal) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        self.stdout.write("Stopped.")
