"""Emulators and fakes that ship with byoc, for tests, benchmarks and the demo.

- `conformance`: the channel conformance kit a plugin's tests subclass;
- `channel_endpoint.ChannelEndpoint`: a channel's webhook route without a bridge;
- `rig.BridgeRig`: the bridge on the Freshchat emulator, over a `network.VirtualNetwork`;
- `fake_channel.FakeChannel`, `media_host.MediaHost`, `clock.FakeClock`, `freshchat`.
"""
