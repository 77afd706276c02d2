"""Viber channel plugin for byoc."""
