"""Real Dovecot fixtures (session-scoped), registered as a pytest plugin by tests/conftest.py."""

from __future__ import annotations
