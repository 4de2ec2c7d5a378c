"""Settings come from the environment and bad values stop the start with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from mailadmin.lib.env import env_bool, env_int, env_list, env_secret
from mailadmin.lib.units import SizeError, format_size, parse_size

ROOT = Path(__file__).resolve().parents[2]


def _start(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= env_overrides
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_missing_secret_key_with_debug_off_is_a_clear_start_up_error(tmp_path):
    result = _start({"DEBUG": "0", "MAILADMIN_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_on_starts_without_a_secret_on_embedded_defaults(tmp_path):
    result = _start({"DEBUG": "1", "MAILADMIN_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_bad_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG='perhaps' is not a boolean"):
        env_bool("SOME_FLAG", False)


def test_env_readers_convert(monkeypatch):
    monkeypatch.setenv("A_NUMBER", "42")
    monkeypatch.setenv("A_LIST", "a.test, b.test,,")
    monkeypatch.setenv("A_FLAG", "yes")
    assert env_int("A_NUMBER", 1) == 42
    assert env_list("A_LIST", []) == ["a.test", "b.test"]
    assert env_bool("A_FLAG", False) is True
    monkeypatch.setenv("A_NUMBER", "forty")
    with pytest.raises(ImproperlyConfigured, match="A_NUMBER='forty' is not a whole number"):
        env_int("A_NUMBER", 1)


def test_secret_has_a_default_only_in_debug(monkeypatch):
    monkeypatch.delenv("X_SECRET", raising=False)
    assert env_secret("X_SECRET", debug=True, dev_default="dev") == "dev"
    with pytest.raises(ImproperlyConfigured, match="X_SECRET is not set"):
        env_secret("X_SECRET", debug=False, dev_default="dev")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.5 GB", 2_500_000_000),
        ("500 MB", 500_000_000),
        ("1 GiB", 1024**3),
        ("0", 0),
        ("1,5 kb", 1500),
    ],
)
def test_sizes_as_people_write_them(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1 GB", "A size cannot be negative"),
        ("lots", "is not a size"),
        ("5 parsecs", "is not a unit we know"),
        ("0.5 B", "is not a whole number of bytes"),
        ("", "is not a size"),
    ],
)
def test_bad_sizes_say_what_is_wrong(text, message):
    with pytest.raises(SizeError, match=message):
        parse_size(text)


def test_sizes_are_shown_the_way_people_write_them():
    assert format_size(2_500_000_000) == "2.5 GB"
    assert format_size(500_000_000) == "500 MB"
    assert format_size(0) == "0 B"
    assert format_size(999) == "999 B"
