"""The public surface of `byoc.store` is pinned."""

from __future__ import annotations


def test_the_store_package_surface_is_pinned() -> None:
    import byoc.store

    assert set(byoc.store.__all__) == {
        "DeadLetter",
        "Job",
        "LeaseLost",
        "MemoryStore",
        "SQLiteStore",
        "Store",
        "StoreUnavailable",
        "UserLink",
    }
    for name in byoc.store.__all__:
        assert hasattr(byoc.store, name)
