"""Regenerate the server settings in package.json from deepseek_lsp/config.py.

    python editors/vscode/scripts/sync_settings.py          # rewrite package.json
    python editors/vscode/scripts/sync_settings.py --check  # exit 1 if it is out of date

config.py is the one place where every setting's type, default, range and meaning is defined;
the extension's JSON schema (contributes.configuration) is derived from it. Settings that only
the extension reads (serverPath, serverArgs, trace.server) are kept as they are. `apiKey` is
never a VS Code setting: the key lives in SecretStorage.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from deepseek_lsp.config import SETTINGS, Prices, default_value

PACKAGE_JSON = Path(__file__).resolve().parents[1] / "package.json"
CLIENT_KEYS = ("deepseek.serverPath", "deepseek.serverArgs")
TRAILING_KEYS = ("deepseek.trace.server",)

PRICE_FIELDS = {
    "cacheHit": "Price per million prompt tokens served from DeepSeek's context cache.",
    "cacheMiss": "Price per million prompt tokens not in the cache.",
    "output": "Price per million output tokens.",
}


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def schema_for(kind: str, default: Any) -> dict[str, Any]:
    """JSON schema (type, range, default) for one setting, from its `kind` text."""
    bounds = re.search(r"([\d.]+)-([\d.]+)", kind)
    if kind == "boolean":
        return {"type": "boolean", "default": default}
    if kind.startswith(("integer", "number")) and bounds:
        return {"type": "integer" if kind.startswith("integer") else "number",
                "minimum": _number(bounds.group(1)), "maximum": _number(bounds.group(2)),
                "default": default}
    if kind.startswith("list"):
        return {"type": "array", "items": {"type": "string"}, "default": list(default)}
    if kind.startswith("object") and isinstance(default, Prices):
        props: dict[str, Any] = {
            key: {"type": "number", "minimum": 0, "maximum": 1000, "description": text}
            for key, text in PRICE_FIELDS.items()
        }
        props["currency"] = {"type": "string", "description": "Currency of these prices."}
        return {"type": "object", "properties": props, "additionalProperties": False,
                "default": {"cacheHit": default.cache_hit, "cacheMiss": default.cache_miss,
                            "output": default.output, "currency": default.currency}}
    if "URL" in kind:
        return {"type": "string", "pattern": "^https?://",
                "patternErrorMessage": "An http:// or https:// URL.", "default": default}
    return {"type": "string", "default": default}


def generated(manifest: dict[str, Any]) -> dict[str, Any]:
    old = manifest["contributes"]["configuration"]["properties"]
    props: dict[str, Any] = {key: old[key] for key in CLIENT_KEYS}
    order = len(props)
    for spec in SETTINGS:
        if spec.key == "apiKey":
            continue
        entry = schema_for(spec.kind, default_value(spec))
        entry["markdownDescription"] = spec.description
        entry["order"] = order
        order += 1
        props[f"deepseek.{spec.key}"] = entry
    for key in TRAILING_KEYS:
        props[key] = {**old[key], "order": order}
        order += 1
    out = json.loads(json.dumps(manifest))
    out["contributes"]["configuration"]["properties"] = props
    return out


def main(argv: list[str]) -> int:
    manifest = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    text = json.dumps(generated(manifest), indent=2, ensure_ascii=False) + "\n"
    if "--check" in argv:
        if text != PACKAGE_JSON.read_text(encoding="utf-8"):
            print(f"{PACKAGE_JSON} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    PACKAGE_JSON.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
