"""Every `byoc` command takes `--config`, and a bad file is one clear error whatever the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from byoc.cli import build_parser

from .support import clean_env, run_byoc

COMMANDS = {
    "demo": [],
    "serve": [],
    "install": [],
    "uninstall": [],
    "check": [],
    "channels": [],
    "dead-letters": ["list"],
}


def test_every_command_has_the_option() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        options = {o for action in command._actions for o in action.option_strings}
        assert "--config" in options, name


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_missing_config_file_is_named_with_its_fix(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "byoc.tmol"
    result = run_byoc(command, "--config", str(missing), *COMMANDS[command], env=clean_env())
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"the config file {missing} does not exist" in result.stderr
