"""Bundled presets: one policy file per seed support policy. A preset name works wherever a file does."""

from __future__ import annotations

from pathlib import Path

_DIR = Path(__file__).parent


def preset_names() -> list[str]:
    return sorted(p.stem for p in _DIR.glob("*.yaml"))


def preset_path(name: str) -> Path | None:
    path = _DIR / f"{name}.yaml"
    return path if path.is_file() else None
