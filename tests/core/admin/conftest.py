from __future__ import annotations

import pytest

from ..cli.support import ensure_declared_entry_points


@pytest.fixture(scope="session", autouse=True)
def declared_entry_points(tmp_path_factory: pytest.TempPathFactory) -> None:
    ensure_declared_entry_points(tmp_path_factory.mktemp("entry-points"))
