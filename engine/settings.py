"""Where the data lives: a CLI flag, else ``$BOLTZMANN_DATA``, else the saved setting, else ``../shared/data``.

The saved setting is a small JSON file in the user's config folder (platformdirs), shared by the CLI; the
studio keeps its own preferences in QSettings and passes its data root to jobs explicitly.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs

ENV_DATA = "BOLTZMANN_DATA"
APP = "boltzmann-studio"
REPO_ROOT = Path(__file__).resolve().parent.parent


def settings_file() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "settings.json"


def load_settings() -> dict:
    try:
        return json.loads(settings_file().read_text())
    except (OSError, ValueError):
        return {}


def save_setting(key: str, value: object) -> None:
    s = load_settings()
    s[key] = value
    path = settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(s, indent=2))
    os.replace(tmp, path)


def default_data_roots() -> list[Path]:
    return [REPO_ROOT.parent / "shared" / "data", Path.cwd() / "data"]


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """The folder that holds mnist.npz, polyphonic/, mocap/ ... (it need not exist yet)."""
    for candidate in (explicit, os.environ.get(ENV_DATA), load_settings().get("data_root")):
        if candidate:
            return Path(candidate).expanduser()
    for path in default_data_roots():
        if path.is_dir():
            return path
    return default_data_roots()[0]
