"""KakaoTalk channel plugins for byoc."""
