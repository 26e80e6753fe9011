"""Bounded walks of the workspace on disk, for chat's look-ups and for placing test files.

A workspace may hold a million files (vendored code, build output, virtual environments), and
a look-up runs while the user waits for an answer, so every walk is bounded: files listed,
bytes read, one file's size and wall time. Folders nobody wants searched are skipped (hidden
ones, `node_modules`, virtual environments, build output), symbolic links are not followed,
and files matching the `exclude` globs are never listed, so their content is never read.
Run walks in a thread (`asyncio.to_thread`): they touch the disk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from deepseek_lsp.privacy import is_excluded

#: Folders never searched (besides hidden ones).
SKIPPED_DIRS = frozenset({
    "node_modules", "__pycache__", "venv", "site-packages", "dist", "build", "target",
    "out", "bower_components", "vendor", "third_party", "Pods", "DerivedData",
})


@dataclass(frozen=True)
class WalkLimits:
    """How much one walk may do."""

    max_files: int = 2_000  # files listed (matching or not)
    max_bytes: int = 8 * 1024 * 1024  # file bytes read
    max_file_bytes: int = 512 * 1024  # larger files are skipped
    max_seconds: float = 1.5


DEFAULT_LIMITS = WalkLimits()


@dataclass(frozen=True)
class WorkspaceFile:
    """A file found under a root: its path relative to the root (with `/`), and where it is."""

    relative: str
    path: Path


def walk(
    root: Path,
    wanted: Callable[[str], bool],
    exclude: tuple[str, ...],
    limits: WalkLimits = DEFAULT_LIMITS,
) -> Iterator[WorkspaceFile]:
    """Files under `root` whose relative path `wanted` accepts, breadth first (files near the
    root first), within `limits` (files listed and seconds; bytes are the reader's)."""
    deadline = time.monotonic() + limits.max_seconds
    listed = 0
    queue = [root]
    while queue:
        folder = queue.pop(0)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            if time.monotonic() > deadline:
                return
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    if not entry.name.startswith(".") and entry.name not in SKIPPED_DIRS:
                        subfolders.append(Path(entry.path))
                    continue
                if not entry.is_file():
                    continue
            except OSError:
                continue
            listed += 1
            if listed > limits.max_files:
                return
            relative = Path(entry.path).relative_to(root).as_posix()
            if not wanted(relative) or is_excluded(relative, exclude) \
                    or is_excluded(entry.path, exclude):
                continue
            yield WorkspaceFile(relative, Path(entry.path))
        queue.extend(subfolders)


class Reader:
    """Reads files for one look-up within a byte budget (shared by the calls of one question)."""

    def __init__(self, limits: WalkLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.used = 0

    def read(self, path: Path) -> str | None:
        """The file's text, or None when it is too large, unreadable, binary or over budget."""
        try:
            size = path.stat().st_size
            if size > self.limits.max_file_bytes or self.used + size > self.limits.max_bytes:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        self.used += len(data)
        if b"\0" in data[:4096]:
            return None
        return data.decode("utf-8", "replace")


def inside(root: Path, relative: str) -> Path | None:
    """`root/relative` when it stays inside `root` once resolved (no `..`, no symbolic link
    out of it), else None."""
    try:
        base = root.resolve()
        target = (base / relative).resolve()
    except (OSError, RuntimeError):
        return None
    return target if target.is_relative_to(base) and target != base else None
