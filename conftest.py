"""Session-wide secret scan: every audit record written and every log line captured during
the whole test suite (core, adapters, cookbooks) is searched for the API keys the tests use.

Every router built without `audit=` writes JSONL records to `$LANGROUTE_AUDIT_DIR`, which this
session points at a temporary directory; audit files that tests write themselves (under the
session's temporary root) are scanned too. A leak fails the suite at its end.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

SECRETS = (
    "sk-test-0123456789abcdef-SECRET",
    "sk-from-env",
    "sk-wrong-key-abcdef123456",
    "sk-llamaindex-test-key-0123456789",
    "sk-langchain-test-key-0123456789",
    "sk-live-abcdef0123456789-caller",
)
"""Every key the suite hands to a provider or a router (the short placeholder keys "k" and
"test" are not secrets worth scanning for: they occur in ordinary words)."""

TESTS_TODAY = "2026-01-01"
"""The day model shutdowns are judged by in tests (`$LANGROUTE_TODAY`), not the calendar's:
before every shutdown date in the catalog, so a test that routes to an older catalog model by
name means the same on any day. Tests of shutdowns set their own day."""
os.environ["LANGROUTE_TODAY"] = TESTS_TODAY

_SCAN: dict[str, int] = {}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is still counted
            self.lines.append(repr(record.msg))


def _audit_files(root: Path) -> Iterator[Path]:
    """Every JSONL file (audit trails and any other), and SQLite audit databases."""
    yield from root.rglob("*.jsonl")
    yield from (p for p in root.rglob("*.db") if "audit" in p.name)


@pytest.fixture(scope="session", autouse=True)
def _secret_scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from langroute.audit import _FROM_ENV, AUDIT_DIR_ENV

    audit_dir = tmp_path_factory.mktemp("audit-trail")
    previous = os.environ.get(AUDIT_DIR_ENV)
    os.environ[AUDIT_DIR_ENV] = str(audit_dir)
    handler = _Lines()
    logging.getLogger().addHandler(handler)
    ours = logging.getLogger("langroute")
    level = ours.level
    ours.setLevel(logging.DEBUG)
    yield
    ours.setLevel(level)
    logging.getLogger().removeHandler(handler)
    if previous is None:
        os.environ.pop(AUDIT_DIR_ENV, None)
    else:
        os.environ[AUDIT_DIR_ENV] = previous
    for log in _FROM_ENV.values():
        log.flush()
    records = 0
    leaks: list[str] = []
    root = tmp_path_factory.getbasetemp()
    for path in _audit_files(root):
        data = path.read_bytes()
        if "audit" not in str(path.relative_to(root)):
            pass  # other JSONL (datasets, per-prompt reports): scanned, not counted
        elif path.suffix == ".jsonl":
            records += data.count(b"\n")
        else:
            import sqlite3

            with sqlite3.connect(path) as conn:
                records += conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        leaks += [f"{path.name}: {s}" for s in SECRETS if s.encode() in data]
    leaks += [f"log line: {line[:200]}" for line in handler.lines for s in SECRETS if s in line]
    _SCAN.update(records=records, lines=len(handler.lines), leaks=len(leaks))
    assert not leaks, f"secrets found in the audit trail or logs: {leaks[:5]}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _SCAN:
        terminalreporter.write_line(
            f"secret scan: {_SCAN['records']} audit records and {_SCAN['lines']} log lines "
            f"searched for {len(SECRETS)} keys, {_SCAN['leaks']} found"
        )


@pytest.fixture
def said_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a provider leaves out of a call is logged once per process (`not_sent`): once
    per test for a test that asserts on those lines."""
    from langroute.providers import _http

    monkeypatch.setattr(_http, "_SAID", set())
