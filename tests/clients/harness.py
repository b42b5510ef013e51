"""What the client scripts share: the sandbox's control API and a step runner.

Each script drives a freshly started sandbox (its URL in ``SANDBOX_URL``) through a
third-party client, one named step after another. A step that raises is reported with what
failed (the exception, the HTTP status, URL and body when the client gives them, and the
line of the script), and the steps that need it are skipped, so one sandbox bug shows up
as one failure rather than a cascade. The exit code is the number of failed steps (capped).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Any, Callable

import requests

#: The sandbox under test, e.g. ``http://127.0.0.1:43121`` (no trailing slash).
SANDBOX = os.environ.get("SANDBOX_URL", "").rstrip("/")
if not SANDBOX:
    sys.exit("SANDBOX_URL is not set: scripts/clients starts a sandbox and sets it")

#: Time limit of one control call, so a hung sandbox fails the step instead of the run.
TIMEOUT = 15


class CheckFailed(AssertionError):
    """A result the client got that differs from what the real service answers."""


def expect(cond: bool, what: str) -> None:
    """Fails the step with ``what`` unless ``cond``."""
    if not cond:
        raise CheckFailed(what)


def expect_eq(actual: Any, wanted: Any, what: str) -> None:
    """Fails the step unless ``actual == wanted``, naming both."""
    if actual != wanted:
        raise CheckFailed(f"{what}: got {actual!r}, wanted {wanted!r}")


def control(method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
    """Calls the sandbox's control API (``/_sandbox/...``) and returns its JSON answer."""
    r = requests.request(method, SANDBOX + path, json=body, timeout=TIMEOUT)
    if r.status_code not in ok:
        raise CheckFailed(f"control {method} {path} -> {r.status_code}: {r.text[:500]}")
    return r.json() if r.content else None


def describe(exc: BaseException) -> str:
    """One paragraph on what went wrong, with the HTTP exchange when the client kept it."""
    lines = [f"{type(exc).__name__}: {exc}".strip()]
    # PyGithub: GithubException(status, data, headers); jira: JIRAError(status_code, url, text).
    for attr in ("status", "status_code", "url"):
        value = getattr(exc, attr, None)
        if value is not None and f"{value}" not in lines[0]:
            lines.append(f"  {attr}: {value}")
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "request", None) is not None:
        req = response.request
        lines.append(f"  request: {req.method} {req.url}")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(("_client.py",))]
    if frames:
        f = frames[-1]
        lines.append(f"  at {os.path.basename(f.filename)}:{f.lineno}: {f.line}")
    return "\n".join(lines)


class Steps:
    """Runs named steps in order and reports each one on its own line."""

    def __init__(self, suite: str) -> None:
        self.suite = suite
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.skipped: list[str] = []
        self.started = time.monotonic()

    def run(self, name: str, fn: Callable[[], Any], needs: tuple[str, ...] = ()) -> Any:
        """Runs ``fn`` as step ``name`` unless a step it ``needs`` did not pass."""
        missing = [n for n in needs if n not in self.passed]
        if missing:
            self.skipped.append(name)
            print(f"SKIP {self.suite}: {name} (needs {', '.join(missing)})", flush=True)
            return None
        t0 = time.monotonic()
        try:
            result = fn()
        except Exception as exc:  # every failure is reported, none stops the other steps
            self.failed.append(name)
            print(f"FAIL {self.suite}: {name}\n{describe(exc)}", flush=True)
            return None
        self.passed.append(name)
        print(f"ok   {self.suite}: {name} ({(time.monotonic() - t0) * 1000:.0f} ms)", flush=True)
        return result

    def finish(self) -> int:
        """Prints the tally (``N passed, N failed, N skipped``) and returns the exit code."""
        took = time.monotonic() - self.started
        print(f"{self.suite} took {took:.1f} s")
        if self.failed:
            print(f"{self.suite} failed steps: {', '.join(self.failed)}")
        print(f"{self.suite}: {len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped")
        return 0 if not self.failed and not self.skipped else 1
