"""Runnable examples: the bridge mounted in web frameworks, a small production server, and a
complete channel plugin (`channel/`).

Each module runs on its own (see its docstring) and is tested in `tests/examples/`; the channel
plugin carries its own test file, the conformance kit (`channel/test_mychat.py`).
"""
