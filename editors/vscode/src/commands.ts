/**
 * The palette commands. Each runs a server command through the connection; chat and code
 * actions stream into the chat view under a cancellable progress notification.
 */
import * as vscode from 'vscode';
import { ChatView } from './chatView';
import { ProgressValue, ServerConnection } from './client';
import { describeFailure } from './logic/errors';
import { ACTION_TITLES } from './logic/commandTable';
import { ServerStatus, statusSummary } from './logic/status';
import { ChatResult, linesLabel, readProgress } from './logic/transcript';
import { ApiKeyStore } from './secrets';
import { StatusBar } from './statusBar';

interface Services {
  server: ServerConnection;
  keys: ApiKeyStore;
  chat: ChatView;
  statusBar: StatusBar;
  log: vscode.LogOutputChannel;
  refreshStatus: () => Promise<ServerStatus | undefined>;
}

/** The selection (or the current line when nothing is selected) as LSP arguments. */
function selectionArgs(editor: vscode.TextEditor): { uri: string; range: object; label: string } {
  let range: vscode.Range = editor.selection;
  if (range.isEmpty) {
    range = editor.document.lineAt(range.start.line).range;
  }
  const path = vscode.workspace.asRelativePath(editor.document.uri, false);
  return {
    uri: editor.document.uri.toString(),
    range: {
      start: { line: range.start.line, character: range.start.character },
      end: { line: range.end.line, character: range.end.character },
    },
    label: linesLabel(path, range.start.line, range.end.line, range.end.character),
  };
}

function activeEditor(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showWarningMessage('DeepSeek: open a file and select some code first.');
  }
  return editor;
}

/**
 * Run a chat-like server command: a turn in the chat view, a progress notification with
 * Cancel, text streaming from `$/progress`, the final result replacing the streamed text.
 */
async function runStreaming(
  services: Services,
  command: string,
  args: Record<string, unknown>,
  question: string,
  context: string | undefined,
): Promise<ChatResult | undefined> {
  const { chat, server, statusBar } = services;
  const titles = ACTION_TITLES[command] ?? { progress: 'DeepSeek is working', turn: command };
  const turn = chat.transcript.begin(titles.turn, question, context);
  chat.show();
  chat.changed(turn);
  const done = statusBar.beginWork(true);
  let answer: ChatResult | undefined;
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: titles.progress, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => {
          chat.transcript.cancel(turn);
          chat.changed(turn);
        });
        const onProgress = (value: ProgressValue): void => {
          const piece = readProgress(value);
          if (piece) {
            chat.transcript.stream(turn, piece);
            chat.changed();
          }
          // The notification shows the server's status line or the tail of the answer.
          if (value.kind !== 'end' && typeof value.message === 'string' && value.message) {
            progress.report({ message: value.message });
          }
        };
        try {
          const result = await server.execute<ChatResult | null>(command, args, token, onProgress);
          answer = result ?? undefined;
          chat.transcript.finish(turn, answer);
          if (answer) {
            await saveCreatedFile(answer, services.log);
          }
        } catch (error) {
          const failure = describeFailure(error);
          if (token.isCancellationRequested || failure.cancelled) {
            chat.transcript.cancel(turn, token.isCancellationRequested ? undefined : failure.message);
          } else {
            chat.transcript.fail(turn, failure.message);
            statusBar.setError(failure.message);
            void vscode.window.showErrorMessage(`DeepSeek: ${failure.message}`);
          }
        }
        chat.changed(turn);
      },
    );
  } finally {
    done();
    void services.refreshStatus();
  }
  return answer;
}

/**
 * Write tests created a test file: the server's `workspace/applyEdit` made it (empty on disk)
 * and put the tests in its editor, and `window/showDocument` opened it. Save it, so that the
 * file on disk holds the tests, as "created" says. Tests added to an existing file are left
 * unsaved, for the user to review.
 */
async function saveCreatedFile(result: ChatResult, log: vscode.LogOutputChannel): Promise<void> {
  const file = result.file;
  if (result.applied !== true || !file || file.created !== true || typeof file.uri !== 'string') {
    return;
  }
  try {
    const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(file.uri));
    if (document.isDirty && !(await document.save())) {
      log.warn(`could not save ${file.path}`);
    }
  } catch (error) {
    log.warn(`could not save ${file.path}: ${String(error)}`);
  }
}

/** Label "path:lines" for a command argument `{uri, range}` (code actions send those). */
function argumentLabel(args: Record<string, unknown>): string | undefined {
  const range = args.range as { start?: { line?: number }; end?: { line?: number; character?: number } } | undefined;
  if (typeof args.uri !== 'string' || !range?.start || !range.end) {
    return undefined;
  }
  const path = vscode.workspace.asRelativePath(vscode.Uri.parse(args.uri), false);
  return linesLabel(path, range.start.line ?? 0, range.end.line ?? 0, range.end.character ?? 0);
}

/** The question for "Ask About Selection…" (undefined when the user cancels). */
function askQuestion(label: string | undefined): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title: 'Ask DeepSeek',
    prompt: label ? `About ${label}` : 'No selection: a general question',
    placeHolder: 'What does this do? Is there a bug? How can it be faster?',
    ignoreFocusOut: true,
  });
}

/** Run a plain server command and report failures; returns the result. */
async function runSimple<T>(services: Services, command: string, args?: Record<string, unknown>): Promise<T | undefined> {
  const done = services.statusBar.beginWork(true);
  try {
    return await services.server.execute<T>(command, args);
  } catch (error) {
    const { message } = describeFailure(error);
    services.statusBar.setError(message);
    void vscode.window.showErrorMessage(`DeepSeek: ${message}`);
    return undefined;
  } finally {
    done();
  }
}

export function registerCommands(context: vscode.ExtensionContext, services: Services): void {
  const { chat, server, keys, statusBar, log } = services;
  const register = (id: string, run: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  };

  // Code actions from the light bulb (Explain, Fix, …) stream into the chat view too;
  // "Ask about the selection" asks for the question first.
  server.streamingRunner = async (command, args) => {
    let question = typeof args.question === 'string' ? args.question.trim() : '';
    const label = argumentLabel(args);
    if (command === 'deepseek.chat' && !question) {
      question = (await askQuestion(label))?.trim() ?? '';
      if (!question) {
        return undefined;
      }
      args = { ...args, question, newSession: chat.transcript.newSession };
      chat.transcript.newSession = false;
    }
    return runStreaming(services, command, args, question, label);
  };

  register('deepseek-lsp.ask', async () => {
    const editor = vscode.window.activeTextEditor;
    const selection = editor && !editor.selection.isEmpty ? selectionArgs(editor) : undefined;
    const question = await askQuestion(selection?.label);
    if (!question || !question.trim()) {
      return;
    }
    const args: Record<string, unknown> = { question: question.trim(), newSession: chat.transcript.newSession };
    if (selection) {
      args.uri = selection.uri;
      args.range = selection.range;
    }
    chat.transcript.newSession = false;
    await runStreaming(services, 'deepseek.chat', args, question.trim(), selection?.label);
  });

  for (const kind of ['explain', 'refactor', 'document', 'tests'] as const) {
    register(`deepseek-lsp.${kind}`, async () => {
      const editor = activeEditor();
      if (!editor) {
        return;
      }
      const selection = selectionArgs(editor);
      await runStreaming(services, `deepseek.${kind}`, { uri: selection.uri, range: selection.range }, '', selection.label);
    });
  }

  register('deepseek-lsp.newChat', () => {
    chat.newChat();
    chat.show(false);
  });
  register('deepseek-lsp.showChat', () => chat.show(false));

  // The server shows the balance and the model list itself (window/showMessage).
  register('deepseek-lsp.balance', () => runSimple(services, 'deepseek.balance'));
  register('deepseek-lsp.models', () => runSimple(services, 'deepseek.models'));

  register('deepseek-lsp.status', async () => {
    const status = await services.refreshStatus();
    if (!status) {
      const pick = await vscode.window.showWarningMessage('DeepSeek: the language server is not running.', 'Show Log', 'Restart Server');
      if (pick === 'Show Log') {
        log.show();
      } else if (pick === 'Restart Server') {
        await server.restart();
      }
      return;
    }
    const actions = [status.enabled ? 'Turn Off' : 'Turn On', 'Show Log'];
    if (status.keyConfigured === false) {
      actions.unshift('Set API Key');
    }
    const pick = await vscode.window.showInformationMessage(statusSummary(status), ...actions);
    if (pick === 'Turn Off' || pick === 'Turn On') {
      await vscode.commands.executeCommand('deepseek-lsp.toggle');
    } else if (pick === 'Show Log') {
      log.show();
    } else if (pick === 'Set API Key') {
      await vscode.commands.executeCommand('deepseek-lsp.setApiKey');
    }
  });

  register('deepseek-lsp.toggle', async () => {
    const result = await runSimple<{ enabled?: boolean }>(services, 'deepseek.toggle');
    if (result && typeof result.enabled === 'boolean') {
      statusBar.setEnabled(result.enabled);
    }
    void services.refreshStatus();
  });

  register('deepseek-lsp.clearCache', async () => {
    const result = await runSimple<unknown>(services, 'deepseek.clearCache');
    if (result !== undefined) {
      void vscode.window.showInformationMessage('DeepSeek: completion cache cleared.');
    }
  });

  register('deepseek-lsp.setApiKey', async () => {
    if (await keys.prompt()) {
      await server.keyChanged(); // the key reaches the server through its environment: restart
      void vscode.window.showInformationMessage('DeepSeek: API key saved in secret storage; the server uses it now.');
    }
  });

  register('deepseek-lsp.removeApiKey', async () => {
    await keys.remove();
    await server.keyChanged();
    const fallback = process.env.DEEPSEEK_API_KEY ? ' The DEEPSEEK_API_KEY environment variable is used instead.' : '';
    void vscode.window.showInformationMessage(`DeepSeek: API key removed from secret storage.${fallback}`);
  });

  register('deepseek-lsp.restart', async () => {
    await server.restart();
    void services.refreshStatus();
  });

  register('deepseek-lsp.showLog', () => log.show());
}
