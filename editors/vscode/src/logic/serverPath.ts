/**
 * Finding the `deepseek-lsp` executable, and what to tell the user when it is not there.
 *
 * Pure apart from the injected `isExecutable` check, so it is unit-tested without VS Code.
 */
import * as path from 'path';

export const DEFAULT_SERVER = 'deepseek-lsp';

export type ServerResolution =
  | { ok: true; command: string }
  | { ok: false; tried: string[]; message: string };

export interface ResolveOptions {
  /** `process.env.PATH` (or the equivalent). */
  pathVariable?: string;
  /** Home directory, for `~` and for pipx/uv's usual `~/.local/bin`. */
  home?: string;
  /** Whether a file exists and is executable. */
  isExecutable: (file: string) => boolean;
  /** Path separator of PATH (':' on POSIX, ';' on Windows). */
  delimiter?: string;
  /** Candidate suffixes for a bare name (['', '.exe', '.cmd'] on Windows). */
  suffixes?: string[];
}

export function expandHome(value: string, home: string | undefined): string {
  if (!home) {
    return value;
  }
  if (value === '~') {
    return home;
  }
  if (value.startsWith('~/')) {
    return path.join(home, value.slice(2));
  }
  return value.replace('${userHome}', home);
}

/** Locate the server from the `deepseek.serverPath` setting (a name on PATH or a path). */
export function resolveServer(setting: string | undefined, options: ResolveOptions): ServerResolution {
  const wanted = expandHome((setting ?? '').trim() || DEFAULT_SERVER, options.home);
  const tried: string[] = [];
  if (wanted.includes('/') || wanted.includes('\\')) {
    tried.push(wanted);
    if (options.isExecutable(wanted)) {
      return { ok: true, command: wanted };
    }
    return { ok: false, tried, message: missingServerMessage(wanted, tried) };
  }
  const delimiter = options.delimiter ?? path.delimiter;
  const dirs = (options.pathVariable ?? '').split(delimiter).filter((d) => d !== '');
  // Editors started from a desktop launcher often lack ~/.local/bin, where pipx and
  // `uv tool install` put the command: look there too.
  if (options.home) {
    dirs.push(path.join(options.home, '.local', 'bin'));
  }
  for (const dir of dirs) {
    for (const suffix of options.suffixes ?? ['']) {
      const candidate = path.join(dir, wanted + suffix);
      if (tried.includes(candidate)) {
        continue;
      }
      tried.push(candidate);
      if (options.isExecutable(candidate)) {
        return { ok: true, command: candidate };
      }
    }
  }
  return { ok: false, tried, message: missingServerMessage(wanted, tried) };
}

/** Run in a checkout of the deepseek-lsp repository (it is not published on PyPI). */
export const INSTALL_COMMAND = 'pipx install .';

/** One actionable message (plain text: notifications do not render markdown). */
export function missingServerMessage(wanted: string, tried: string[]): string {
  const where = wanted.includes('/') || wanted.includes('\\')
    ? `${wanted} does not exist or is not executable`
    : `"${wanted}" is not on PATH (looked in ${tried.length} places)`;
  return (
    `DeepSeek: cannot start the language server: ${where}. ` +
    `Install it from a checkout of deepseek-lsp with "${INSTALL_COMMAND}" (or ` +
    '"uv tool install .") and run ' +
    '"DeepSeek: Restart Server", or set deepseek.serverPath to the full path of the ' +
    'deepseek-lsp executable.'
  );
}
