"""Runs `jirahub sync CONFIG` for the bench (benches/council/peer.rs), unchanged but for two
things the harness needs, both said here rather than hidden:

* GitHub's base URL. jirahub 0.3.0 builds `Github(token, retry=...)` with no way to name
  another host, so its client is built with `base_url` = $JIRAHUB_GITHUB_API_URL (the bench's
  counting proxy in front of the sandbox).
* The `jira` library's fixed sleeps. `jira.resources.Resource.update` sleeps 4 s after every
  PUT before it re-reads the resource (jira 2.0.0, resources.py: "we had random test failures
  (probably) due to caching"). With JIRAHUB_SLEEP=count (the bench's default) those sleeps are
  counted and skipped; with JIRAHUB_SLEEP=real they are slept and counted. Either way the
  count and the seconds go to the last line of stdout as JSON, so the bench reports them
  apart. The retry back-off of `jira.resilientsession` is always slept (and counted apart).

Usage: python run_jirahub.py CONFIG [jirahub sync options, e.g. --state-path FILE]
"""

import functools
import json
import sys
import time

import jira.resilientsession
import jira.resources
import jirahub.command_line
import jirahub.github
from jirahub.command_line import main as jirahub_main


class _Sleeps:
    """Stands in for the `time` module inside one library module: counts `sleep`."""

    def __init__(self, real):
        self.count = 0
        self.seconds = 0.0
        self.real = real

    def sleep(self, seconds):
        self.count += 1
        self.seconds += seconds
        if self.real:
            time.sleep(seconds)

    def __getattr__(self, name):
        return getattr(time, name)


def run(args):
    import os

    fixed = _Sleeps(real=os.environ.get("JIRAHUB_SLEEP", "count") == "real")
    retries = _Sleeps(real=True)
    jira.resources.time = fixed
    jira.resilientsession.time = retries
    base_url = os.environ["JIRAHUB_GITHUB_API_URL"]
    jirahub.github.Github = functools.partial(jirahub.github.Github, base_url=base_url)

    # The issues jirahub selected but failed to sync (it logs them and still exits 0).
    failed = []
    perform_sync = jirahub.command_line.IssueSync.perform_sync

    def counting_sync(self, *args, **kwargs):
        out = perform_sync(self, *args, **kwargs)
        failed.extend(out)
        return out

    jirahub.command_line.IssueSync.perform_sync = counting_sync

    sys.argv = ["jirahub", "sync", *args]
    started = time.monotonic()
    code = jirahub_main()
    wall = time.monotonic() - started
    print(
        json.dumps(
            {
                "exit": code,
                "failed": len(failed),
                "wall_s": wall,
                "update_sleeps": fixed.count,
                "update_sleep_s": fixed.seconds,
                "update_sleeps_slept": fixed.real,
                "retry_sleeps": retries.count,
                "retry_sleep_s": retries.seconds,
            }
        )
    )
    return code or 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
