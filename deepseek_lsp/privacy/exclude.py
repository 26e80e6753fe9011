"""Which files never leave the machine: the `exclude` globs, matched case-insensitively at any
directory depth (`**/.env` matches `.env`, `app/.env` and `/home/u/app/.env`)."""

from __future__ import annotations

import re
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


@lru_cache(maxsize=1024)
def is_excluded(path: str, globs: tuple[str, ...]) -> bool:
    """Whether `path` matches one of `globs` (case-insensitive, at any directory depth)."""
    regex = _exclude_regex(globs)
    return bool(regex and regex.search(path.replace("\\", "/")))
