"""Emulators and fakes that ship with byoc, for tests, benchmarks and the demo."""
