/**
 * The chat view: a webview panel beside the editor where answers stream in as they arrive,
 * rendered as markdown, with the model's reasoning in its own collapsible section.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { ChatTurn, Transcript, escapeHtml, transcriptMarkdown, turnMarkdown } from './logic/transcript';

/** Re-render at most this often while text streams in. */
const RENDER_INTERVAL_MS = 80;

export class ChatView implements vscode.Disposable {
  readonly transcript = new Transcript();
  private panel: vscode.WebviewPanel | undefined;
  private timer: NodeJS.Timeout | undefined;
  private rendering = false;

  /** Open (or reveal) the panel without taking focus from the editor. */
  show(preserveFocus = true): void {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      'deepseek-lsp.chat',
      'DeepSeek Chat',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      { enableScripts: true, retainContextWhenHidden: true, enableFindWidget: true },
    );
    panel.onDidDispose(() => {
      this.panel = undefined;
    });
    panel.webview.onDidReceiveMessage((message: { type?: string }) => {
      if (message.type === 'open' && typeof (message as { uri?: unknown }).uri === 'string') {
        void vscode.window.showTextDocument(vscode.Uri.parse((message as { uri: string }).uri), { preview: true });
      } else if (message.type === 'copy') {
        void vscode.env.clipboard.writeText(transcriptMarkdown(this.transcript.turns));
      } else if (message.type === 'newChat') {
        this.newChat();
      }
    });
    panel.webview.html = this.shell(panel.webview);
    this.panel = panel;
    this.scheduleRender(true);
  }

  newChat(): void {
    this.transcript.clear();
    this.scheduleRender(true);
  }

  /** Call after the transcript changed; rendering is throttled while streaming. */
  changed(turn?: ChatTurn): void {
    this.scheduleRender(turn !== undefined && turn.state !== 'streaming');
  }

  private scheduleRender(now: boolean): void {
    if (now) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      void this.render();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.render();
      }, RENDER_INTERVAL_MS);
    }
  }

  private async render(): Promise<void> {
    if (!this.panel) {
      return;
    }
    if (this.rendering) {
      this.scheduleRender(false); // render again once the current one is done
      return;
    }
    this.rendering = true;
    try {
      const turns = await Promise.all(this.transcript.turns.map((t) => this.turnHtml(t)));
      await this.panel?.webview.postMessage({ type: 'render', html: turns.join('') });
    } finally {
      this.rendering = false;
    }
  }

  private async turnHtml(turn: ChatTurn): Promise<string> {
    const md = turnMarkdown(turn);
    const reasoning = md.reasoning
      ? `<details class="reasoning"${turn.state === 'streaming' && !turn.content ? ' open' : ''}>` +
        `<summary>Reasoning</summary>${await renderMarkdown(md.reasoning)}</details>`
      : '';
    const open = turn.documentUri
      ? ` · <a href="#" data-open="${escapeHtml(turn.documentUri)}">open as Markdown</a>`
      : '';
    const footer = md.footer || open ? `<div class="footer">${escapeHtml(md.footer)}${open}</div>` : '';
    const lookups = md.lookups ? `<div class="lookups">${await renderMarkdown(md.lookups)}</div>` : '';
    const notice = md.notice ? `<div class="notice">${await renderMarkdown(md.notice)}</div>` : '';
    return (
      `<section class="turn ${turn.state} ${md.phase}" data-turn="${turn.id}">` +
      `<div class="question">${await renderMarkdown(md.heading)}</div>` +
      reasoning +
      lookups +
      `<div class="answer">${await renderMarkdown(md.answer)}</div>` +
      notice +
      footer +
      '</section>'
    );
  }

  private shell(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource} 'unsafe-inline'`,
      `img-src ${webview.cspSource} https: data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style>
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 12px 24px; }
  .toolbar { position: sticky; top: 0; background: var(--vscode-editor-background); padding: 6px 0; display: flex; gap: 8px; }
  button { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: none; padding: 3px 10px; cursor: pointer; }
  .turn { border-top: 1px solid var(--vscode-panel-border); padding: 8px 0; }
  .question { color: var(--vscode-textLink-foreground); }
  .reasoning { color: var(--vscode-descriptionForeground); border-left: 3px solid var(--vscode-textBlockQuote-border); padding-left: 8px; margin: 6px 0; }
  .reasoning summary { cursor: pointer; font-style: italic; }
  .footer { color: var(--vscode-descriptionForeground); font-size: 0.9em; }
  .lookups { color: var(--vscode-descriptionForeground); font-size: 0.9em; }
  .lookups ul { margin: 4px 0; padding-left: 18px; }
  .notice { color: var(--vscode-editorWarning-foreground); }
  .failed .footer { color: var(--vscode-errorForeground); }
  pre { background: var(--vscode-textCodeBlock-background); padding: 8px; overflow-x: auto; }
  code { font-family: var(--vscode-editor-font-family); }
  .empty { color: var(--vscode-descriptionForeground); }
</style></head>
<body>
<div class="toolbar"><button id="new">New Chat</button><button id="copy">Copy as Markdown</button></div>
<div id="turns"><p class="empty">Select code and run “DeepSeek: Ask About Selection…” or one of the DeepSeek code actions.</p></div>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  const turns = document.getElementById('turns');
  document.getElementById('new').addEventListener('click', () => vscode.postMessage({ type: 'newChat' }));
  document.getElementById('copy').addEventListener('click', () => vscode.postMessage({ type: 'copy' }));
  turns.addEventListener('click', (event) => {
    const link = event.target.closest('[data-open]');
    if (link) {
      event.preventDefault();
      vscode.postMessage({ type: 'open', uri: link.dataset.open });
    }
  });
  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (msg.type !== 'render') return;
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    const open = new Set([...document.querySelectorAll('details[open]')].map((d) => d.closest('.turn')?.dataset.turn));
    turns.innerHTML = msg.html || '<p class="empty">New chat.</p>';
    for (const d of document.querySelectorAll('details')) {
      if (open.has(d.closest('.turn')?.dataset.turn)) d.open = true;
    }
    if (atBottom) window.scrollTo(0, document.body.scrollHeight);
  });
</script>
</body></html>`;
  }

  dispose(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.panel?.dispose();
  }
}

/** Markdown to HTML with VS Code's own renderer; escaped text if that is unavailable. */
async function renderMarkdown(text: string): Promise<string> {
  try {
    const html = await vscode.commands.executeCommand<string>('markdown.api.render', text);
    if (typeof html === 'string') {
      return html;
    }
  } catch {
    // fall through
  }
  return `<pre>${escapeHtml(text)}</pre>`;
}
