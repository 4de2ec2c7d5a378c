"""Incremental collection: reruns, crashes mid-batch, partial lines, rotation both ways.

Each test writes numbered login lines (session s0, s1, ...) and compares the stored events
with the lines written: every line exactly once.
"""

from __future__ import annotations

import os
import shutil

import pytest

from monitoring.collector import Checkpoint, read_new
from monitoring.log_services import collect_source
from monitoring.models import ConnectionEvent, LogSource, MailboxEvent
from tests.factories import LogSourceFactory

pytestmark = pytest.mark.django_db


def login_line(n: int) -> str:
    return (
        f"2024-05-01 10:{n // 60 % 60:02d}:{n % 60:02d} imap-login: Info: Login: "
        f"user=<u{n}@example.test>, method=PLAIN, rip=192.0.2.1, lip=10.0.0.1, mpid={n}, TLS, "
        f"session=<s{n}>"
    )


def write(path, numbers, *, mode="a", newline=True):
    with open(path, mode, encoding="utf-8") as handle:
        handle.write("\n".join(login_line(n) for n in numbers) + ("\n" if newline else ""))


def stored_sessions():
    return sorted(
        ConnectionEvent.objects.values_list("session_id", flat=True), key=lambda s: int(s[1:])
    )


def sessions(numbers):
    return [f"s{n}" for n in numbers]


@pytest.fixture
def log(tmp_path):
    return tmp_path / "dovecot.log"


@pytest.fixture
def source(log):
    return LogSourceFactory(path=str(log), host_label="mail1")


def test_collects_every_line_once_and_a_rerun_adds_nothing(log, source):
    write(log, range(50))
    stats = collect_source(source.pk)
    assert (stats.lines, stats.connection_events) == (50, 50)
    assert stored_sessions() == sessions(range(50))
    again = collect_source(source.pk)
    assert again.lines == 0
    assert stored_sessions() == sessions(range(50))
    source.refresh_from_db()
    assert (source.offset_bytes, source.lines_read) == (log.stat().st_size, 50)
    assert (source.file_inode, source.file_device) == (log.stat().st_ino, log.stat().st_dev)
    event = ConnectionEvent.objects.get(session_id="s7")
    assert (event.host, event.username, event.domain_name) == (
        "mail1",
        "u7@example.test",
        "example.test",
    )


def test_a_partial_last_line_waits_for_its_newline(log, source):
    write(log, range(3))
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(login_line(3)[:40])
    collect_source(source.pk)
    assert stored_sessions() == sessions(range(3))
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(login_line(3)[40:] + "\n")
    collect_source(source.pk)
    assert stored_sessions() == sessions(range(4))


def test_a_crash_mid_batch_loses_and_duplicates_nothing(log, source):
    write(log, range(200))

    def crash(batch):
        if batch == 3:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError, match="worker killed"):
        collect_source(source.pk, max_bytes=4000, on_batch_stored=crash)
    partial = stored_sessions()
    assert 0 < len(partial) < 200
    source.refresh_from_db()
    # The checkpoint is exactly where the committed batches end.
    assert source.lines_read == len(partial)
    stats = collect_source(source.pk, max_bytes=4000)
    assert stats.lines == 200 - len(partial)
    assert stored_sessions() == sessions(range(200))


def test_rotation_by_rename_follows_the_old_file_to_its_end(log, source):
    write(log, range(10))
    collect_source(source.pk)
    write(log, range(10, 15))  # written after the last collection, before the rotation
    os.rename(log, log.with_name("dovecot.log.1"))
    write(log, range(15, 25), mode="w")
    stats = collect_source(source.pk)
    assert any("rotated (rename)" in note for note in stats.notes)
    assert stored_sessions() == sessions(range(25))
    write(log, range(25, 30))
    collect_source(source.pk)
    assert stored_sessions() == sessions(range(30))
    source.refresh_from_db()
    assert source.file_inode == log.stat().st_ino
    assert source.last_error == ""


def test_rotation_without_the_old_file_says_what_was_lost(log, source):
    write(log, range(5))
    collect_source(source.pk)
    os.rename(log, log.with_name("dovecot.log.old"))
    write(log, range(5, 8), mode="w")
    collect_source(source.pk)
    assert stored_sessions() == sessions(range(8))
    source.refresh_from_db()
    assert "lines written to it after the last collection are lost" in source.last_error


def test_copy_truncate_starts_again_at_zero(log, source):
    write(log, range(20))
    collect_source(source.pk)
    shutil.copy(log, log.with_name("dovecot.log.1"))
    with open(log, "w", encoding="utf-8"):
        pass  # truncated in place: same inode
    write(log, range(20, 23))
    stats = collect_source(source.pk)
    assert any("copy-truncate" in note for note in stats.notes)
    assert stored_sessions() == sessions(range(23))


def test_copy_truncate_refilled_past_the_offset_is_seen_by_its_first_line(log, source):
    write(log, range(3))
    collect_source(source.pk)
    with open(log, "w", encoding="utf-8"):
        pass
    write(log, range(100, 110))  # longer than before: only the first line tells
    collect_source(source.pk)
    assert stored_sessions() == sessions([0, 1, 2, *range(100, 110)])


def test_unknown_lines_are_counted_and_sampled(log, source):
    with open(log, "w", encoding="utf-8") as handle:
        handle.write("not a dovecot line\n" + login_line(1) + "\nsomething else\n")
    stats = collect_source(source.pk)
    assert (stats.unknown, stats.connection_events) == (2, 1)
    source.refresh_from_db()
    assert source.unknown_lines == 2
    assert source.unknown_samples == ["not a dovecot line", "something else"]


def test_sender_and_subject_are_dropped_unless_the_setting_allows(log, source):
    from monitoring.models import LogSettings

    line = (
        "2024-05-01 10:00:00 imap(ann@example.test)<1><sx>: Info: expunge: box=INBOX, uid=4, "
        "msgid=<m@x>, size=10, vsize=11, from=boss@example.test, subject=secret plans, flags=()\n"
    )
    log.write_text(line)
    collect_source(source.pk)
    LogSettings.objects.update_or_create(pk=1, defaults={"store_sender_subject": True})
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(line)
    collect_source(source.pk)
    rows = list(MailboxEvent.objects.order_by("id").values_list("sender", "subject", "uid"))
    assert rows == [("", "", 4), ("boss@example.test", "secret plans", 4)]


def test_a_missing_file_is_a_note_not_an_error(tmp_path):
    source = LogSourceFactory(path=str(tmp_path / "nothing.log"))
    stats = collect_source(source.pk)
    assert stats.lines == 0
    assert LogSource.objects.get(pk=source.pk).last_error.endswith("does not exist")


def test_read_new_consumes_an_overlong_line(tmp_path):
    path = tmp_path / "x.log"
    path.write_text("y" * 50)
    result = read_new(path, Checkpoint(), max_bytes=20)
    assert (result.lines, result.checkpoint.offset) == (["y" * 20], 20)
