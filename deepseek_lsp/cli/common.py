"""What every command of the command line shares: the user-error type, settings from the
environment, and reading the user's files safely."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from deepseek_lsp.api.errors import DeepSeekError, MissingKeyError
from deepseek_lsp.config import Settings, env_layer, load_settings
from deepseek_lsp.privacy import excluded_as, real_paths

#: The largest file the command line reads. Bigger ones are not source code one completes or
#: asks about, and reading them whole (a log, a disk image) would only cost memory.
MAX_FILE_BYTES = 16 * 1024 * 1024


class UserError(Exception):
    """A problem the user can fix: printed as one line on stderr, exit code 2."""


def cli_settings(**overrides: object) -> Settings:
    """Settings from the environment; an unusable base URL is a user error (nothing is sent)."""
    settings, _ = load_settings([env_layer()])
    problem = settings.base_url_problem
    if problem:
        raise UserError(problem)
    return settings.replace(**overrides) if overrides else settings


def require_key(settings: Settings) -> None:
    if not settings.api_key:
        raise UserError(MissingKeyError().user_message)


def api_failure(error: DeepSeekError) -> UserError:
    return UserError(error.user_message)


def refuse_excluded(path: str, settings: Settings) -> None:
    """A file matching `exclude` by its name, its absolute path or the file a symlink leads
    to (`cfg.py -> .env`) is a user error: it is never read, let alone sent."""
    matched = excluded_as(path, settings.exclude, real_paths(path))
    if matched is not None:
        shown = "" if matched == path else f" (as {matched})"
        raise UserError(f"{path} matches the `exclude` setting{shown}; its content is never sent")


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """A regular UTF-8 file of at most `limit` bytes; anything else is a user error.

    Devices (`/dev/zero`), FIFOs and sockets are refused before they are opened: reading them
    could block for ever or never end.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{path} is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{path} is not a regular file")
    if info.st_size > limit:
        raise UserError(f"{path} is too large ({info.st_size:,} bytes; at most {limit:,})")
    try:
        with open(path, "rb") as file:
            data = file.read(limit + 1)  # the file may have grown since stat
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    if len(data) > limit:
        raise UserError(f"{path} is too large (more than {limit:,} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None


def _number(text: str) -> int | None:
    """A plain decimal number (ASCII digits only: `²` and `٣` are not line numbers)."""
    return int(text) if text.isascii() and text.isdecimal() else None


def parse_location(location: str) -> tuple[Path, int, int]:
    """FILE:LINE:COL, 1-based; the file name itself may contain colons."""
    parts = location.rsplit(":", 2)
    line = _number(parts[1]) if len(parts) == 3 else None
    col = _number(parts[2]) if len(parts) == 3 else None
    if line is None or col is None:
        raise UserError(f"expected FILE:LINE:COL (1-based), got {location!r}")
    if line < 1 or col < 1:
        raise UserError("LINE and COL start at 1")
    return Path(parts[0]), line, col


def offset_of(text: str, line: int, col: int) -> int:
    """Offset of a 1-based line and column (in characters); bad positions are user errors."""
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    if line > len(starts):
        raise UserError(f"line {line} is past the end of the file ({len(starts)} lines)")
    start = starts[line - 1]
    end = starts[line] - 1 if line < len(starts) else len(text)
    if text[start:end].endswith("\r"):
        end -= 1
    if col - 1 > end - start:
        raise UserError(f"column {col} is past the end of line {line} ({end - start} characters)")
    return start + col - 1
