"""Regenerate the server settings in package.json from deepseek_lsp/config.py.

    python -m tools.vscode_settings          # rewrite editors/vscode/package.json
    python -m tools.vscode_settings --check  # exit 1 if it is out of date

config.py is the one place where every setting's type, default, range and meaning is defined;
the extension's JSON schema (contributes.configuration) is each key's `SettingSpec.json_schema`.
Settings that only the extension reads (serverPath, serverArgs, trace.server) are kept as
they are. `apiKey` is
never a VS Code setting: the key lives in SecretStorage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from deepseek_lsp.config import SETTINGS

PACKAGE_JSON = Path(__file__).resolve().parents[1] / "editors" / "vscode" / "package.json"
CLIENT_KEYS = ("deepseek.serverPath", "deepseek.serverArgs")
TRAILING_KEYS = ("deepseek.trace.server",)

def generated(manifest: dict[str, Any]) -> dict[str, Any]:
    old = manifest["contributes"]["configuration"]["properties"]
    props: dict[str, Any] = {key: old[key] for key in CLIENT_KEYS}
    order = len(props)
    for spec in SETTINGS:
        if spec.key == "apiKey":
            continue
        entry = spec.json_schema()
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
            print(f"{PACKAGE_JSON} is out of date: run python -m tools.vscode_settings",
                  file=sys.stderr)
            return 1
        return 0
    PACKAGE_JSON.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
