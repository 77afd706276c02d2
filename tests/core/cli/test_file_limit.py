"""The file limit is raised to the hard limit, and the default cap leaves room below it."""

from __future__ import annotations

import resource
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from byoc.cli.file_limit import default_max_connections

from .support import clean_env


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 300))

    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource; from byoc.cli.file_limit import raise_file_limit; "
            "print(raise_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE))",
        ],
        env=clean_env(),
        preexec_fn=limit,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown.strip() == "FileLimit(before=200, now=300) (300, 300)"


def test_the_default_cap_keeps_a_reserve_for_the_store_upstream_calls_and_logs() -> None:
    assert default_max_connections(1024, 10) == 1024 - 64 - 10 - 100
    assert default_max_connections(65536, 10) == 65536 - 174
    # A small limit still leaves a quarter of it for connections.
    assert default_max_connections(256, 10) == 82
    assert default_max_connections(128, 10) == 32


@given(files=st.integers(1, 1 << 20), pool=st.integers(1, 1000))
def test_the_default_cap_is_positive_and_below_the_limit(files: int, pool: int) -> None:
    cap = default_max_connections(files, pool)
    assert 1 <= cap <= max(files, 1)
    assert cap < files or files == 1
