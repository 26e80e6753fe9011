"""Which files never leave the machine: the `exclude` globs, matched case-insensitively at any
directory depth (`**/.env` matches `.env`, `app/.env` and `/home/u/app/.env`).

A file is judged by every name it goes by: the path shown to the model (relative to its
workspace folder), and its absolute path and the path its symlinks resolve to (`real_paths`).
The workspace may itself be a secret store (`cd ~/.aws && hx credentials` shows `credentials`),
and `cfg.py` may be a link to `.env`. Resolving symlinks reads the filesystem (~0.1 ms), so the
callers resolve a document once, when it is opened, and keep the result: matching is then a
cached lookup per keystroke.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache


def _glob_to_regex(glob: str) -> str:
    """A path glob as a regex matching at any directory depth (`**/` may match nothing)."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        c = glob[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in glob[i + 2:]:
            end = glob.index("]", i + 2)
            body = glob[i + 1:end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "(?:^|/)" + "".join(out) + "$"


@lru_cache(maxsize=32)
def _exclude_regex(globs: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = [_glob_to_regex(g.strip().replace("\\", "/")) for g in globs if g.strip()]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@lru_cache(maxsize=4096)
def _matches(path: str, globs: tuple[str, ...]) -> bool:
    regex = _exclude_regex(globs)
    return bool(regex and regex.search(path.replace("\\", "/")))


def is_excluded(path: str, globs: tuple[str, ...], real_paths: Iterable[str] = ()) -> bool:
    """Whether `path`, or one of the file's `real_paths`, matches one of `globs`
    (case-insensitive, at any directory depth)."""
    return _matches(path, globs) or any(_matches(p, globs) for p in real_paths)


def excluded_as(path: str, globs: tuple[str, ...], real_paths: Iterable[str] = ()) -> str | None:
    """The first of `path` and `real_paths` that matches `globs`, to tell the user why a file
    is refused (`cfg.py` is refused as `/home/u/app/.env`); None when none does."""
    return next((p for p in (path, *real_paths) if _matches(p, globs)), None)


def real_paths(fs_path: str | os.PathLike[str] | None) -> tuple[str, ...]:
    """The absolute path of a file and, when symlinks lead elsewhere, the path they resolve to
    (reads the filesystem: call once per file, not per keystroke). Nothing for no path."""
    if not fs_path:
        return ()
    try:
        absolute = os.path.abspath(fs_path)
        resolved = os.path.realpath(absolute)
    except (OSError, ValueError):  # a NUL in the name, a loop of links
        return (os.fspath(fs_path),)
    return (absolute,) if resolved == absolute else (absolute, resolved)
