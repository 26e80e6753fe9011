/**
 * Entry point: wires the language client, the palette commands, the status bar and the chat
 * view together. Everything with logic lives in the modules it imports.
 */
import * as vscode from 'vscode';
import { ChatView } from './chatView';
import { ServerConnection } from './client';
import { registerCommands } from './commands';
import { needsRestart } from './logic/settings';
import { ServerStatus } from './logic/status';
import { ApiKeyStore, KEY_PAGE } from './secrets';
import { StatusBar } from './statusBar';

/** Refresh the numbers behind the status bar tooltip at most this often after activity. */
const STATUS_REFRESH_MS = 1000;
const STATUS_POLL_MS = 30000;

let connection: ServerConnection | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  // The client needs a log channel ({ log: true }); a plain one fails activation.
  const log = vscode.window.createOutputChannel('DeepSeek', { log: true });
  const keys = new ApiKeyStore(context.secrets);
  const statusBar = new StatusBar('deepseek-lsp.status');
  const chat = new ChatView();
  context.subscriptions.push(log, keys, statusBar, chat);

  let lastRefresh = 0;
  let pending: NodeJS.Timeout | undefined;
  const refreshStatus = async (): Promise<ServerStatus | undefined> => {
    lastRefresh = Date.now();
    if (!server.running) {
      return undefined;
    }
    try {
      const status = await server.execute<ServerStatus>('deepseek.status');
      if (status && typeof status === 'object') {
        statusBar.setStatus(status);
      }
      return status;
    } catch (error) {
      log.warn(`deepseek.status failed: ${String(error)}`);
      return undefined;
    }
  };
  /** After activity (a completion answered, the server started): refresh, throttled. */
  const activity = (): void => {
    if (pending) {
      return;
    }
    const wait = Math.max(0, lastRefresh + STATUS_REFRESH_MS - Date.now());
    pending = setTimeout(() => {
      pending = undefined;
      void refreshStatus();
    }, wait);
  };

  const server = new ServerConnection(log, keys, statusBar, activity);
  connection = server;
  registerCommands(context, { server, keys, chat, statusBar, log, refreshStatus });

  const poll = setInterval(() => {
    if (vscode.window.state.focused) {
      void refreshStatus();
    }
  }, STATUS_POLL_MS);
  context.subscriptions.push(
    { dispose: () => clearInterval(poll) },
    { dispose: () => pending && clearTimeout(pending) },
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (needsRestart((section) => e.affectsConfiguration(section))) {
        void server.restart();
      } else if (e.affectsConfiguration('deepseek')) {
        void server.settingsChanged().then(activity);
      }
    }),
    keys.onDidChange(() => void server.keyChanged()),
  );

  await server.start();
  void offerKeySetup(context, keys);
}

/** Once, when neither SecretStorage nor the environment has a key: say how to set one. */
async function offerKeySetup(context: vscode.ExtensionContext, keys: ApiKeyStore): Promise<void> {
  if ((await keys.source()) !== 'none' || context.globalState.get('deepseek.keyPromptDismissed')) {
    return;
  }
  const pick = await vscode.window.showInformationMessage(
    'DeepSeek needs an API key for completions and chat.',
    'Set API Key',
    'Get a Key',
    "Don't Ask Again",
  );
  if (pick === 'Set API Key') {
    await vscode.commands.executeCommand('deepseek-lsp.setApiKey');
  } else if (pick === 'Get a Key') {
    await vscode.env.openExternal(vscode.Uri.parse(KEY_PAGE));
  } else if (pick === "Don't Ask Again") {
    await context.globalState.update('deepseek.keyPromptDismissed', true);
  }
}

export async function deactivate(): Promise<void> {
  await connection?.dispose();
  connection = undefined;
}
