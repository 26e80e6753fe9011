/**
 * What the status bar item says: state, spinner, last error, and the `deepseek.status` numbers
 * on hover. Pure, so the wording is unit-tested.
 */

/** The parts of the server's `deepseek.status` answer that the extension shows. */
export interface ServerStatus {
  version?: string;
  enabled?: boolean;
  keyConfigured?: boolean;
  baseUrl?: string;
  model?: string | null;
  pausedForSeconds?: number;
  lastError?: string | null;
  completionRequests?: number;
  upstreamRequests?: number;
  cacheHits?: number;
  typeAheadHits?: number;
  suggestionsShown?: number;
  chatRequests?: number;
  promptTokens?: number;
  promptCacheHitTokens?: number;
  promptCacheMissTokens?: number;
  promptCacheHitShare?: number | null;
  completionTokens?: number;
  estimatedCost?: number;
  currency?: string;
  upstreamLatencyMsP50?: number | null;
  /** The last completion request the server answered without asking DeepSeek, and why. */
  lastSkip?: SkipInfo | null;
}

/** `deepseek.status`'s `lastSkip`. */
export interface SkipInfo {
  /** `excluded`, `disabledLanguage`, `midWord`, `paused`, `disabled`, `tooLarge`, … */
  reason: string;
  uri?: string;
}

/** What each skip reason means to a user; unknown reasons are shown as they come. */
const SKIP_REASONS: Record<string, string> = {
  excluded: 'the file matches deepseek.exclude',
  disabledLanguage: 'its language is in deepseek.disabledLanguages',
  midWord: 'the cursor was inside a word',
  paused: 'completions are paused after an error',
  disabled: 'completions are turned off',
  tooLarge: 'the file is too large',
};

export type ServerState = 'starting' | 'running' | 'stopped' | 'missing';

export interface StatusBarState {
  server: ServerState;
  /** Requests (completions, commands) the extension is waiting for. */
  inFlight: number;
  /** Enabled as last reported by the server (`deepseek.status` / `deepseek.toggle`). */
  enabled: boolean;
  /** The newest error the user should know about (server message or failed request). */
  lastError?: string;
  status?: ServerStatus;
}

export interface StatusBarView {
  text: string;
  /** Markdown for the tooltip. */
  tooltip: string;
  kind: 'normal' | 'warning' | 'error';
}

const NAME = 'DeepSeek';

export function formatNumber(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) {
    return '0';
  }
  return Math.round(n).toLocaleString('en-US');
}

export function formatCost(cost: number | undefined, currency: string | undefined): string {
  const value = cost ?? 0;
  const unit = currency ?? 'USD';
  if (value > 0 && value < 0.0001) {
    return `< 0.0001 ${unit}`;
  }
  const digits = value !== 0 && value < 0.01 ? 4 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

export function formatShare(share: number | null | undefined): string {
  return share === null || share === undefined ? '–' : `${Math.round(share * 100)} %`;
}

/** The file name of a document URI (`file:///a/b/calc.py` → `calc.py`). */
export function fileName(uri: string | undefined): string {
  if (!uri) {
    return '';
  }
  const path = uri.replace(/[?#].*$/, '').replace(/^[a-z][a-z0-9+.-]*:/i, '');
  const name = path.split('/').filter((part) => part !== '').pop() ?? path;
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/**
 * Why the last suggestion was not asked for, e.g. "the cursor was inside a word (midWord),
 * calc.py". A reason may carry details after a colon (`paused: auth`).
 */
export function describeSkip(skip: SkipInfo): string {
  const [code, ...details] = skip.reason.split(':');
  const meaning = SKIP_REASONS[code.trim()];
  const detail = details.join(':').trim();
  let text = meaning ? `${meaning} (${code.trim()}${detail ? `: ${detail}` : ''})` : skip.reason;
  const file = fileName(skip.uri);
  if (file) {
    text += `, ${file}`;
  }
  return text;
}

/** A markdown table cell must stay on one line and must not open a link or a table. */
function inline(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`);
}

export function statusBarView(state: StatusBarState): StatusBarView {
  const s = state.status;
  const error = state.lastError ?? s?.lastError ?? undefined;
  let text: string;
  let kind: StatusBarView['kind'] = 'normal';
  if (state.server === 'missing') {
    text = `$(error) ${NAME}`;
    kind = 'error';
  } else if (state.server === 'starting') {
    text = `$(loading~spin) ${NAME}`;
  } else if (state.server === 'stopped') {
    text = `$(debug-disconnect) ${NAME}`;
    kind = 'warning';
  } else if (state.inFlight > 0) {
    text = `$(sync~spin) ${NAME}`;
  } else if (error) {
    text = `$(warning) ${NAME}`;
    kind = 'warning';
  } else if (!state.enabled) {
    text = `$(circle-slash) ${NAME}`;
  } else {
    text = `$(sparkle) ${NAME}`;
  }

  const lines: string[] = [];
  const headline = {
    missing: 'language server not found',
    starting: 'starting…',
    stopped: 'language server stopped',
    running: state.enabled ? 'inline completions on' : 'inline completions off',
  }[state.server];
  lines.push(`**${NAME}**: ${headline}${state.inFlight > 0 ? ' (working…)' : ''}`);
  if (error) {
    lines.push('', `$(warning) Last error: ${inline(error)}`);
  }
  if (s) {
    if (s.keyConfigured === false) {
      lines.push('', 'No API key: run **DeepSeek: Set API Key**.');
    }
    if (s.pausedForSeconds && s.pausedForSeconds > 0) {
      lines.push('', `Completions paused for ${Math.ceil(s.pausedForSeconds)} s.`);
    }
    if (s.lastSkip && typeof s.lastSkip.reason === 'string') {
      lines.push('', `Last request not sent to DeepSeek: ${inline(describeSkip(s.lastSkip))}`);
    }
    lines.push(
      '',
      '| | |',
      '|---|---:|',
      `| Model | ${inline(s.model ?? 'auto')} |`,
      `| Requests to DeepSeek | ${formatNumber(s.upstreamRequests)} |`,
      `| Suggestions shown | ${formatNumber(s.suggestionsShown)} |`,
      `| Prompt tokens (cache hit) | ${formatNumber(s.promptCacheHitTokens)} |`,
      `| Prompt tokens (cache miss) | ${formatNumber(s.promptCacheMissTokens)} |`,
      `| Cache hit share | ${formatShare(s.promptCacheHitShare)} |`,
      `| Output tokens | ${formatNumber(s.completionTokens)} |`,
      `| Estimated cost | ${formatCost(s.estimatedCost, s.currency)} |`,
    );
  }
  lines.push('', 'Click for status and actions.');
  return { text, tooltip: lines.join('\n'), kind };
}

/** The one-line summary that "DeepSeek: Show Status" shows in a notification. */
export function statusSummary(s: ServerStatus): string {
  const parts = [
    `DeepSeek ${s.version ?? ''}`.trim() + `: completions ${s.enabled ? 'on' : 'off'}`,
    `model ${s.model ?? 'auto'}`,
    `${formatNumber(s.upstreamRequests)} requests`,
    `${formatNumber(s.promptCacheHitTokens)} cached / ${formatNumber(s.promptCacheMissTokens)} uncached prompt tokens`,
    `${formatNumber(s.completionTokens)} output tokens`,
    `≈ ${formatCost(s.estimatedCost, s.currency)}`,
  ];
  if (s.keyConfigured === false) {
    parts.push('no API key');
  }
  if (s.lastError) {
    parts.push(`last error: ${s.lastError}`);
  }
  if (s.lastSkip && typeof s.lastSkip.reason === 'string') {
    parts.push(`last skipped: ${describeSkip(s.lastSkip)}`);
  }
  return parts.join(' · ');
}
