"""A complete channel plugin for MyChat, an imaginary messenger (docs/writing-a-channel.md).

- `mychat.py`: the channel, everything a plugin needs;
- `emulator.py`: MyChat's API as an ASGI app, the test double the kit drives;
- `test_mychat.py`: the whole test file: the channel conformance kit.
"""
