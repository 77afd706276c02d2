"""Runnable examples: the bridge mounted in web frameworks, and a small production server.

Each module runs on its own (see its docstring) and is tested in `tests/examples/`.
"""
