"""Atomic file output: a file is either absent, the old one, or complete."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["write_text_atomic", "write_json_atomic"]


def write_text_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json_atomic(path: Path, obj, indent: int | None = 1) -> Path:
    """Plain JSON: no NaN/Infinity, UTF-8 as is, stable key order as built."""
    separators = None if indent is not None else (",", ":")
    return write_text_atomic(path, json.dumps(obj, indent=indent, separators=separators, ensure_ascii=False,
                                              allow_nan=False) + "\n")
