"""Incremental reading of one log file: where we are, what is new, and rotations.

No ORM here: `read_new()` takes a Checkpoint and returns the complete new lines and the
checkpoint after them; monitoring/log_services/collection.py stores both in one transaction,
so a crash before the commit rereads the same lines and a rerun after it reads nothing twice.

- File identity is (device, inode). The same identity with a size below our offset, or a
  different first line, is a copy-truncate: read again from 0.
- A different identity is a rotation by rename: the old file is followed to its end through
  `<path>.1` (when that is the file we were reading), then the new file is read from 0.
- A last line without its newline is not consumed until the newline arrives (except at the
  end of a rotated file, which will not grow any more).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

# First-line fingerprint: enough bytes to tell two log files apart by their first line.
HEAD_BYTES = 4096
DEFAULT_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Checkpoint:
    device: int | None = None
    inode: int | None = None
    offset: int = 0
    head_hash: str = ""


@dataclass
class ReadResult:
    lines: list[str]
    checkpoint: Checkpoint
    # What happened besides reading ("rotated (rename)", "truncated (copy-truncate)", a warning).
    notes: list[str] = field(default_factory=list)
    # True when more complete lines may be waiting (the read stopped at max_bytes).
    more: bool = False


def head_hash(path: Path) -> str:
    """SHA-256 of the file's first complete line; "" while it has none."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return ""
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) < HEAD_BYTES:
        return ""
    return hashlib.sha256(line).hexdigest()


def read_new(
    path: Path, checkpoint: Checkpoint, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ReadResult:
    """The complete lines after `checkpoint` and the checkpoint after them (see module doc)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        rotated = _follow_rotated(path, checkpoint, max_bytes)
        if rotated is not None:
            return rotated
        return ReadResult([], checkpoint, [f"{path} does not exist"])
    identity = (stat.st_dev, stat.st_ino)
    if checkpoint.inode is None:
        return _read(path, Checkpoint(*identity, 0, ""), stat.st_size, max_bytes)
    if identity != (checkpoint.device, checkpoint.inode):
        rotated = _follow_rotated(path, checkpoint, max_bytes)
        if rotated is not None:
            return rotated
        result = _read(path, Checkpoint(*identity, 0, ""), stat.st_size, max_bytes)
        result.notes.append(
            f"{path} was replaced and the file we were reading is not at {path}.1: "
            "lines written to it after the last collection are lost"
        )
        return result
    if stat.st_size < checkpoint.offset or (
        checkpoint.head_hash and head_hash(path) not in ("", checkpoint.head_hash)
    ):
        result = _read(path, Checkpoint(*identity, 0, ""), stat.st_size, max_bytes)
        result.notes.append("truncated (copy-truncate): reading again from the start")
        return result
    return _read(path, checkpoint, stat.st_size, max_bytes)


def _follow_rotated(path: Path, checkpoint: Checkpoint, max_bytes: int) -> ReadResult | None:
    """The rest of the file we were reading, now at `<path>.1`; None if it is not there."""
    if checkpoint.inode is None:
        return None
    old = path.with_name(path.name + ".1")
    try:
        stat = os.stat(old)
    except FileNotFoundError:
        return None
    if (stat.st_dev, stat.st_ino) != (checkpoint.device, checkpoint.inode):
        return None
    result = _read(old, checkpoint, stat.st_size, max_bytes, final=True)
    if not result.more:
        # Done with the old file: the next read starts the new one (if it exists yet).
        try:
            new = os.stat(path)
            result.checkpoint = Checkpoint(new.st_dev, new.st_ino, 0, "")
        except FileNotFoundError:
            result.checkpoint = Checkpoint(None, None, 0, "")
        result.more = True
    result.notes.append(f"rotated (rename): finished {old}")
    return result


def _read(
    path: Path, checkpoint: Checkpoint, size: int, max_bytes: int, *, final: bool = False
) -> ReadResult:
    start = checkpoint.offset
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(min(max_bytes, max(0, size - start)))
    consumed = data.rfind(b"\n") + 1
    more = start + len(data) < size
    if consumed == 0 and data and ((final and not more) or len(data) >= max_bytes):
        # A final unterminated line, or one longer than a whole read: take it as it is.
        consumed = len(data)
    elif final and not more:
        consumed = len(data)
    chunk = data[:consumed]
    lines = chunk.decode("utf-8", errors="replace").splitlines()
    hashed = checkpoint.head_hash or (head_hash(path) if start + consumed > 0 else "")
    return ReadResult(
        lines=lines,
        checkpoint=Checkpoint(checkpoint.device, checkpoint.inode, start + consumed, hashed),
        more=more and consumed > 0,
    )
