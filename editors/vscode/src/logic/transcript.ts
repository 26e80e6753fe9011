/**
 * The chat transcript: turns that stream in (answer and reasoning kept apart), and how the
 * `$/progress` values of `deepseek.chat` and the code-action commands feed them.
 *
 * Pure, so streaming, cancellation and rendering are unit-tested without VS Code.
 */

export type TurnState = 'streaming' | 'done' | 'cancelled' | 'failed';

/** What the server's chat and code-action commands return (the parts shown here). */
export interface ChatResult {
  content?: string;
  reasoningContent?: string | null;
  usage?: Record<string, unknown> | null;
  model?: string;
  /** Edit kinds: whether the selection was replaced, and why not. */
  applied?: boolean;
  reason?: string;
  /** Where the server wrote the answer as a Markdown page. */
  documentUri?: string;
  /** What the model looked up before answering ("looked up `scale` in scaling.py"). */
  lookups?: string[];
  /** Why the answer is incomplete, e.g. cut at `chatMaxTokens`. */
  notice?: string;
  /** Write tests: the test file's path and code, and the file created or added to. */
  path?: string;
  code?: string;
  file?: { path: string; uri: string; created: boolean };
}

export interface ChatTurn {
  id: number;
  /** What was asked for: "Ask", "Explain", … */
  title: string;
  /** The user's question (empty for code actions). */
  question: string;
  /** Where the code came from, e.g. `src/app.py:3-9`. */
  context?: string;
  reasoning: string;
  content: string;
  /** While streaming without full deltas: the end of the answer so far, on one line. */
  preview: string;
  state: TurnState;
  error?: string;
  usage?: Record<string, unknown>;
  model?: string;
  /** Edit kinds: "applied" or the reason nothing changed. */
  outcome?: string;
  documentUri?: string;
  /** What the model looked up, as it happened and then from the result. */
  lookups: string[];
  /** Why the answer is incomplete (from the result). */
  notice?: string;
}

/** One piece of streamed text, as found in a `$/progress` value. */
export interface StreamPiece {
  content?: string;
  reasoning?: string;
  /** A one-line glimpse of the answer so far (LSP's `message`), not a delta. */
  preview?: string;
  /** A look-up the model made (deepseek-lsp's extra key `lookup`). */
  lookup?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Read a `$/progress` report into streamed text.
 *
 * deepseek-lsp's reports (deepseek_lsp/chat/actions.py) carry the text since the previous
 * report in the extra keys `delta` (answer) and `reasoning`, and, in LSP's `message`, the tail
 * of the answer so far on one line (or "thinking…"): a preview for clients that only read
 * `message`, used here only when a report has no deltas. `begin`/`end` messages are status
 * lines, not text. A report with the extra key `lookup` says what the model looked up
 * ("looked up `scale` in scaling.py"; its `message` says the same).
 */
export function readProgress(value: unknown): StreamPiece | undefined {
  if (!value || typeof value !== 'object') {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  if (v.kind !== 'report') {
    return undefined;
  }
  const lookup = str(v.lookup);
  if (lookup !== undefined) {
    return { lookup };
  }
  const content = str(v.delta);
  const reasoning = str(v.reasoning);
  if (content !== undefined || reasoning !== undefined) {
    return { content, reasoning };
  }
  const message = str(v.message);
  return message !== undefined ? { preview: message } : undefined;
}

export class Transcript {
  readonly turns: ChatTurn[] = [];
  private nextId = 1;
  /** Whether the next question starts a new server-side session (history). */
  newSession = true;

  begin(title: string, question: string, context?: string): ChatTurn {
    const turn: ChatTurn = {
      id: this.nextId++,
      title,
      question,
      context,
      reasoning: '',
      content: '',
      preview: '',
      state: 'streaming',
      lookups: [],
    };
    this.turns.push(turn);
    return turn;
  }

  /** Add streamed text; ignored once the turn has ended (late progress after a cancel). */
  stream(turn: ChatTurn, piece: StreamPiece): void {
    if (turn.state !== 'streaming') {
      return;
    }
    if (piece.preview !== undefined) {
      turn.preview = piece.preview;
    }
    if (piece.lookup !== undefined) {
      turn.lookups.push(piece.lookup);
    }
    turn.content += piece.content ?? '';
    turn.reasoning += piece.reasoning ?? '';
  }

  /** The final answer wins over what streamed (it is complete and authoritative). */
  finish(turn: ChatTurn, result: ChatResult | null | undefined): void {
    if (turn.state !== 'streaming') {
      return;
    }
    if (result && typeof result.content === 'string' && result.content !== '') {
      turn.content = result.content;
    }
    if (result && typeof result.path === 'string' && typeof result.code === 'string') {
      // Write tests: the file's code, not the JSON it came as.
      turn.content = `\`${result.path}\`:\n\n${fenced(result.code, languageOfPath(result.path))}`;
    }
    if (result && Array.isArray(result.lookups)) {
      turn.lookups = result.lookups.filter((l): l is string => typeof l === 'string');
    }
    if (result && typeof result.notice === 'string' && result.notice !== '') {
      turn.notice = result.notice;
    }
    if (result && typeof result.reasoningContent === 'string' && result.reasoningContent !== '') {
      turn.reasoning = result.reasoningContent;
    }
    if (result && result.usage && typeof result.usage === 'object') {
      turn.usage = result.usage;
    }
    if (result && typeof result.model === 'string') {
      turn.model = result.model;
    }
    if (result && result.applied === true && result.file && typeof result.file.path === 'string') {
      turn.outcome = `${result.file.created ? 'created' : 'added the tests to'} ${result.file.path}`;
    } else if (result && typeof result.applied === 'boolean') {
      turn.outcome = result.applied ? 'applied to the selection' : `not applied: ${result.reason ?? 'no reason given'}`;
    }
    if (result && typeof result.documentUri === 'string') {
      turn.documentUri = result.documentUri;
    }
    turn.preview = '';
    turn.state = 'done';
  }

  /** Stop a turn; `reason` says why when it was not the user (e.g. a newer question). */
  cancel(turn: ChatTurn, reason?: string): void {
    if (turn.state === 'streaming') {
      turn.state = 'cancelled';
      turn.error = reason;
    }
  }

  fail(turn: ChatTurn, message: string): void {
    if (turn.state === 'streaming') {
      turn.state = 'failed';
      turn.error = message;
    }
  }

  clear(): void {
    this.turns.length = 0;
    this.newSession = true;
  }
}

/** Token counts of a usage object (snake_case from DeepSeek or camelCase), for a footer. */
export function usageLine(usage: Record<string, unknown> | undefined): string | undefined {
  if (!usage) {
    return undefined;
  }
  const num = (...keys: string[]): number | undefined => {
    for (const k of keys) {
      const v = usage[k];
      if (typeof v === 'number' && Number.isFinite(v)) {
        return v;
      }
    }
    return undefined;
  };
  const prompt = num('prompt_tokens', 'promptTokens');
  const hit = num('prompt_cache_hit_tokens', 'promptCacheHitTokens');
  const output = num('completion_tokens', 'completionTokens');
  const parts: string[] = [];
  if (prompt !== undefined) {
    parts.push(`${prompt} prompt tokens` + (hit !== undefined ? ` (${hit} from cache)` : ''));
  }
  if (output !== undefined) {
    parts.push(`${output} output tokens`);
  }
  return parts.length ? parts.join(', ') : undefined;
}

/** What a turn's answer area shows: placeholders while nothing came, then text. */
export type TurnPhase = 'waiting' | 'thinking' | 'preview' | 'answer';

export function turnPhase(turn: ChatTurn): TurnPhase {
  if (turn.content !== '' || turn.state !== 'streaming') {
    return 'answer';
  }
  if (turn.reasoning !== '' || /^thinking/i.test(turn.preview)) {
    return 'thinking';
  }
  return turn.preview && !/^waiting for/i.test(turn.preview) ? 'preview' : 'waiting';
}

/** A turn as markdown pieces: heading, reasoning (may be empty), look-ups (a list, may be
 *  empty), answer, notice (may be empty) and footer. */
export function turnMarkdown(turn: ChatTurn): {
  heading: string; reasoning: string; lookups: string; answer: string; notice: string; footer: string; phase: TurnPhase;
} {
  const heading = turn.question
    ? `**${turn.title}**: ${turn.question}`
    : `**${turn.title}**`;
  const phase = turnPhase(turn);
  const answer = {
    waiting: '_Waiting for DeepSeek…_',
    thinking: '_Thinking…_',
    preview: `_…${escapeMarkdown(turn.preview)}_`,
    answer: turn.content,
  }[phase];
  const footerParts: string[] = [];
  if (turn.context) {
    footerParts.push(turn.context);
  }
  if (turn.outcome) {
    footerParts.push(turn.outcome);
  }
  if (turn.model) {
    footerParts.push(turn.model);
  }
  if (turn.state === 'cancelled') {
    footerParts.push(turn.error ?? 'cancelled');
  } else if (turn.state === 'failed') {
    footerParts.push(`failed: ${turn.error ?? 'unknown error'}`);
  }
  const usage = usageLine(turn.usage);
  if (usage) {
    footerParts.push(usage);
  }
  const lookups = turn.lookups.map((l) => `- ${l}`).join('\n');
  const notice = turn.notice ? `**Note:** ${turn.notice}` : '';
  return { heading, reasoning: turn.reasoning, lookups, answer, notice, footer: footerParts.join(' · '), phase };
}

/** The whole transcript as one markdown document (for "copy" and for plain views). */
export function transcriptMarkdown(turns: readonly ChatTurn[]): string {
  return turns
    .map((turn) => {
      const md = turnMarkdown(turn);
      const parts = [`### ${md.heading}`];
      if (md.reasoning) {
        parts.push('<details><summary>Reasoning</summary>\n\n' + md.reasoning + '\n\n</details>');
      }
      if (md.lookups) {
        parts.push(md.lookups);
      }
      parts.push(md.answer);
      if (md.notice) {
        parts.push(md.notice);
      }
      if (md.footer) {
        parts.push(`_${md.footer}_`);
      }
      return parts.join('\n\n');
    })
    .join('\n\n---\n\n');
}

/** `code` in a Markdown code fence long enough for the backticks inside it. */
export function fenced(code: string, language: string): string {
  const runs = code.match(/`{3,}/g) ?? [];
  const fence = '`'.repeat(Math.max(3, ...runs.map((r) => r.length + 1)));
  return `${fence}${language}\n${code.replace(/\s+$/, '')}\n${fence}`;
}

const LANGUAGES: Record<string, string> = {
  py: 'python', js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'jsx', ts: 'typescript',
  tsx: 'tsx', go: 'go', rs: 'rust', java: 'java', rb: 'ruby', php: 'php', c: 'c', h: 'c',
  cc: 'cpp', cpp: 'cpp', hpp: 'cpp', cs: 'csharp', kt: 'kotlin', swift: 'swift', lua: 'lua', sh: 'bash',
};

/** The code fence tag for a file path ("" when unknown). */
export function languageOfPath(path: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return (ext && LANGUAGES[ext]) || '';
}

/** Text shown literally inside markdown emphasis. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Lines "a-b" (1-based) of an LSP range, for the context label. */
export function linesLabel(path: string, startLine: number, endLine: number, endCharacter: number): string {
  // A selection ending at column 0 does not include that line.
  const last = endCharacter === 0 && endLine > startLine ? endLine - 1 : endLine;
  return startLine === last ? `${path}:${startLine + 1}` : `${path}:${startLine + 1}-${last + 1}`;
}
