/** The status bar item: on/off, spinner while DeepSeek works, last error, numbers on hover. */
import * as vscode from 'vscode';
import { ServerState, ServerStatus, StatusBarState, statusBarView } from './logic/status';

/** Spinner only for work that takes longer than this (no flicker on every keystroke). */
const SPINNER_DELAY_MS = 300;

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly state: StatusBarState = { server: 'starting', inFlight: 0, enabled: true };
  private readonly slowWork = new Set<number>();
  private nextWork = 1;

  constructor(commandId: string) {
    this.item = vscode.window.createStatusBarItem('deepseek-lsp.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'DeepSeek';
    this.item.command = commandId;
    this.render();
    this.item.show();
  }

  setServer(server: ServerState): void {
    this.state.server = server;
    if (server !== 'running') {
      this.slowWork.clear();
    }
    this.render();
  }

  setStatus(status: ServerStatus): void {
    this.state.status = status;
    if (typeof status.enabled === 'boolean') {
      this.state.enabled = status.enabled;
    }
    // The server's own last error replaces ours once it answers (it knows when it recovered).
    this.state.lastError = undefined;
    this.render();
  }

  setEnabled(enabled: boolean): void {
    this.state.enabled = enabled;
    this.render();
  }

  setError(message: string | undefined): void {
    this.state.lastError = message;
    this.render();
  }

  /** Mark work in flight; call the returned function when it ends. */
  beginWork(immediate = false): () => void {
    const id = this.nextWork++;
    let done = false;
    const show = (): void => {
      if (!done) {
        this.slowWork.add(id);
        this.render();
      }
    };
    const timer = immediate ? undefined : setTimeout(show, SPINNER_DELAY_MS);
    if (immediate) {
      show();
    }
    return () => {
      done = true;
      if (timer) {
        clearTimeout(timer);
      }
      if (this.slowWork.delete(id)) {
        this.render();
      }
    };
  }

  private render(): void {
    this.state.inFlight = this.slowWork.size;
    const view = statusBarView(this.state);
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    this.item.tooltip = tooltip;
    // A stable label for screen readers (and for the end-to-end test to wait on).
    const label = this.state.server === 'running'
      ? `DeepSeek ${this.state.inFlight > 0 ? 'working' : this.state.enabled ? 'ready' : 'disabled'}`
      : `DeepSeek ${this.state.server}`;
    this.item.accessibilityInformation = { label, role: 'button' };
    this.item.backgroundColor =
      view.kind === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.kind === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
