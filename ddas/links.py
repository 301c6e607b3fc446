"""Putting a stored dataset where the user asked for it, without a second copy on disk.

``fetch(url, dest=...)`` gives ``dest`` a hard link to the stored file where the file system allows
(same inode: no extra bytes, and the store's read-only mode protects the shared bytes), else a symlink,
else — only as a last resort or when asked — a real copy (which scans will then count as a duplicate).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path

from ddas import config


def target_path(dest: str | os.PathLike[str], name: str) -> Path:
    """``dest`` itself, or ``dest/name`` when ``dest`` is (or is spelled as) a folder."""
    text = os.fspath(dest)
    path = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        return path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def place(src: Path, dest: str | os.PathLike[str], name: str, mode: str | None = None) -> Path:
    """Make ``dest`` refer to ``src``; returns the final path. Replaces ``dest`` atomically."""
    mode = mode or config.link_mode()
    target = target_path(dest, name)
    with contextlib.suppress(OSError):
        if target.exists() and os.path.samefile(target, src):
            return target
    attempts = {
        "auto": ("hardlink", "symlink", "copy"),
        "hardlink": ("hardlink",),
        "symlink": ("symlink",),
        "copy": ("copy",),
    }[mode]
    tmp = target.with_name(f".{target.name}.ddas-{uuid.uuid4().hex[:8]}")
    last_error: OSError | None = None
    for how in attempts:
        try:
            if how == "hardlink":
                os.link(src, tmp)
            elif how == "symlink":
                os.symlink(os.path.abspath(src), tmp)
            else:
                shutil.copyfile(src, tmp)
            os.replace(tmp, target)
            return target
        except OSError as exc:
            last_error = exc
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    raise OSError(f"could not place {src} at {target} ({mode}): {last_error}") from last_error
