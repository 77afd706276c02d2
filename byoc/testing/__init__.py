"""Emulators and fakes that ship with byoc, for tests, benchmarks and the demo.

- `conformance`: the channel conformance kit a plugin's tests subclass;
- `channel_endpoint.ChannelEndpoint`: a channel's webhook route without a bridge;
- `rig.BridgeRig`: the bridge on a help desk's emulator, over a `network.VirtualNetwork`;
- `helpdesk`: Freshchat's and Chatwoot's emulators with their messaging, in shared words;
- `fake_channel.FakeChannel`, `media_host.MediaHost`, `clock.FakeClock`, `freshchat`.
"""
