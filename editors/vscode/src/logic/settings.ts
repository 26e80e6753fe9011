/**
 * Which `deepseek.*` settings reach the server, and in what shape.
 *
 * Pure: no `vscode` import, so it is unit-tested with Node's test runner. The extension hands
 * in a reader built on `workspace.getConfiguration('deepseek').inspect`.
 */

/** Keys the server understands (deepseek_lsp/config.py), minus `apiKey`, which never lives in
 *  settings.json (it comes from SecretStorage or the DEEPSEEK_API_KEY environment variable),
 *  and `answerPages`, which the extension sets itself (see `initializationOptions`). A unit
 *  test checks this list against the settings in package.json. */
export const SERVER_SETTING_KEYS = [
  'baseUrl',
  'allowInsecureHttp',
  'enable',
  'model',
  'chatModel',
  'chatReasoning',
  'prices',
  'debounceMs',
  'adaptiveDebounce',
  'maxTokens',
  'temperature',
  'prefixTokens',
  'suffixTokens',
  'timeoutMs',
  'disabledLanguages',
  'exclude',
  'neighborFiles',
  'redactSecrets',
  'minConfidence',
  'streamCompletions',
  'chatMaxTokens',
  'chatLookups',
] as const;

/** Where the key is sent, and whether it may go unencrypted: the user's own settings only. A
 *  workspace's .vscode/settings.json comes with the code one opens, and must not be able to
 *  send the key elsewhere. */
export const USER_ONLY_SETTING_KEYS: readonly ServerSettingKey[] = ['baseUrl', 'allowInsecureHttp'];

export type ServerSettingKey = (typeof SERVER_SETTING_KEYS)[number];

/** Settings that only the extension reads; changing one of these restarts the server. */
export const RESTART_SETTING_KEYS = ['serverPath', 'serverArgs'] as const;

/** What `WorkspaceConfiguration.inspect(key)` tells, reduced to the parts we use. */
export interface InspectedSetting {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
  globalLanguageValue?: unknown;
  workspaceLanguageValue?: unknown;
  workspaceFolderLanguageValue?: unknown;
}

export type SettingInspector = (key: string) => InspectedSetting | undefined;

/** The value the user set explicitly (most specific scope first), or undefined. */
export function explicitValue(inspected: InspectedSetting | undefined): unknown {
  if (!inspected) {
    return undefined;
  }
  const scopes = [
    inspected.workspaceFolderLanguageValue,
    inspected.workspaceLanguageValue,
    inspected.globalLanguageValue,
    inspected.workspaceFolderValue,
    inspected.workspaceValue,
    inspected.globalValue,
  ];
  return scopes.find((v) => v !== undefined);
}

/**
 * The `deepseek` section as the server should see it: only keys the user set explicitly, so
 * that the server's own defaults and the environment (DEEPSEEK_BASE_URL) stay in charge of
 * everything else. Settings layers on the server are env < initializationOptions < workspace.
 */
export function serverSettings(inspect: SettingInspector): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_SETTING_KEYS) {
    const inspected = inspect(key);
    const value = USER_ONLY_SETTING_KEYS.includes(key) ? inspected?.globalValue : explicitValue(inspected);
    if (value !== undefined && value !== null) {
      out[key] = value;
    }
  }
  return out;
}

/**
 * `initializationOptions`: the settings, plus `answerPages: false` — the chat view shows every
 * answer, so the server need not write answer pages (Markdown files it would open with
 * window/showDocument) for this client.
 */
export function initializationOptions(settings: Record<string, unknown>): Record<string, unknown> {
  return { ...settings, answerPages: false };
}

/** True when someone put the key in settings.json, which we refuse to forward. */
export function hasKeyInSettings(inspect: SettingInspector): boolean {
  const value = explicitValue(inspect('apiKey'));
  return typeof value === 'string' && value.trim() !== '';
}

/** Which restart-worthy settings changed, given an `affectsConfiguration` predicate. */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SETTING_KEYS.some((key) => affects(`deepseek.${key}`));
}

/** Extra command-line arguments, tolerant of a non-array value. */
export function serverArgs(value: unknown): string[] {
  if (!Array.isArray(value)) {
    return [];
  }
  return value.filter((v): v is string => typeof v === 'string');
}

export type KeySource = 'secret-storage' | 'environment' | 'none';

/** The key the server gets: SecretStorage first, then the DEEPSEEK_API_KEY environment. */
export function pickApiKey(
  stored: string | undefined,
  environment: string | undefined,
): { key?: string; source: KeySource } {
  if (stored && stored.trim()) {
    return { key: stored.trim(), source: 'secret-storage' };
  }
  if (environment && environment.trim()) {
    return { key: environment.trim(), source: 'environment' };
  }
  return { source: 'none' };
}

/**
 * The environment of the server process: the editor's own, with the key from SecretStorage
 * (when there is one) as DEEPSEEK_API_KEY. The key travels in the environment rather than in
 * `initializationOptions` so that it never shows up in an LSP trace.
 */
export function serverEnvironment(
  base: Record<string, string | undefined>,
  stored: string | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined) {
      env[k] = v;
    }
  }
  const picked = pickApiKey(stored, base.DEEPSEEK_API_KEY);
  if (picked.key) {
    env.DEEPSEEK_API_KEY = picked.key;
  }
  return env;
}
