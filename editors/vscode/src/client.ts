/**
 * The connection to `deepseek-lsp`: finds the executable, starts it over stdio with the key in
 * its environment, keeps the `deepseek` settings in sync, and runs server commands.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as vscode from 'vscode';
import {
  CancellationToken,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  ServerOptions,
  ShowMessageNotification,
  State,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
} from 'vscode-languageclient/node';
import { ACTION_TITLES } from './logic/commandTable';
import { resolveServer, INSTALL_COMMAND } from './logic/serverPath';
import { initializationOptions, serverArgs, serverEnvironment, serverSettings, hasKeyInSettings } from './logic/settings';
import { ApiKeyStore } from './secrets';
import { StatusBar } from './statusBar';

export type ProgressValue = { kind: 'begin' | 'report' | 'end'; message?: string; [key: string]: unknown };

const STREAMING_COMMANDS = new Set(Object.keys(ACTION_TITLES));

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function inspector(): (key: string) => ReturnType<vscode.WorkspaceConfiguration['inspect']> {
  const config = vscode.workspace.getConfiguration('deepseek');
  return (key) => config.inspect(key);
}

/** The settings the server sees (explicit `deepseek.*` values, never the key). */
export function currentServerSettings(): Record<string, unknown> {
  return serverSettings(inspector());
}

/** Runs a chat-like server command in the chat view (set by the commands module). */
export type StreamingRunner = (command: string, args: Record<string, unknown>) => Promise<unknown>;

export class ServerConnection implements vscode.Disposable {
  /** Code actions' commands (light bulb) are routed here, so they stream into the chat view. */
  streamingRunner: StreamingRunner | undefined;
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private progressCounter = 0;
  private warnedKeyInSettings = false;
  private keyCheck: Promise<void> = Promise.resolve();
  /** The SecretStorage key the running server was started with. */
  private startedWithKey: string | undefined;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly keys: ApiKeyStore,
    private readonly statusBar: StatusBar,
    private readonly onReady: () => void,
  ) {}

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  start(): Promise<void> {
    if (!this.starting) {
      this.starting = this.doStart().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.log.warn(`stopping the server: ${String(error)}`);
      }
      await client.dispose();
    }
    this.statusBar.setServer('stopped');
  }

  private async doStart(): Promise<void> {
    if (this.client) {
      return;
    }
    this.statusBar.setServer('starting');
    const config = vscode.workspace.getConfiguration('deepseek');
    const resolved = resolveServer(config.get<string>('serverPath'), {
      pathVariable: process.env.PATH,
      home: os.homedir(),
      isExecutable,
      suffixes: process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''],
    });
    if (!resolved.ok) {
      this.statusBar.setServer('missing');
      this.statusBar.setError(resolved.message);
      this.log.error(resolved.message);
      void this.explainMissingServer(resolved.message);
      return;
    }
    this.warnIfKeyInSettings();
    const stored = await this.keys.stored();
    this.startedWithKey = stored;
    const serverOptions: ServerOptions = {
      command: resolved.command,
      args: serverArgs(config.get('serverArgs')),
      // No `transport`: TransportKind.stdio would append `--stdio`; the server speaks stdio
      // by default and takes no such flag.
      options: { env: serverEnvironment(process.env, stored) },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      outputChannel: this.log,
      initializationOptions: () => initializationOptions(currentServerSettings()),
      middleware: {
        workspace: {
          // Answer `workspace/configuration` for the `deepseek` section with the same
          // sanitised object as initializationOptions (no serverPath, never an API key).
          configuration: async (params, token, next) => {
            const answer = await next(params, token);
            if (!Array.isArray(answer)) {
              return answer;
            }
            return params.items.map((item, i) =>
              item.section === 'deepseek' ? currentServerSettings() : answer[i],
            );
          },
        },
        // The light bulb's code actions run server commands through the client's own VS Code
        // commands; send the chat-like ones through the chat view as the palette does.
        executeCommand: async (command, args, next) => {
          const arg: unknown = args[0];
          if (this.streamingRunner && STREAMING_COMMANDS.has(command) && args.length === 1 && arg && typeof arg === 'object') {
            return this.streamingRunner(command, arg as Record<string, unknown>);
          }
          return next(command, args);
        },
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          const done = this.statusBar.beginWork();
          try {
            return await next(document, position, context, token);
          } finally {
            done();
            this.onReady();
          }
        },
      },
    };
    const client = new LanguageClient('deepseek-lsp', 'DeepSeek', serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => {
      if (e.newState === State.Running) {
        this.statusBar.setServer('running');
      } else if (e.newState === State.Stopped && this.client === client) {
        this.statusBar.setServer('stopped');
      }
    });
    try {
      await client.start();
    } catch (error) {
      const message = `DeepSeek: the language server \`${resolved.command}\` failed to start: ${errorText(error)}`;
      this.log.error(message);
      this.statusBar.setError(message);
      void vscode.window.showErrorMessage(message, 'Show Log').then((pick) => {
        if (pick) {
          this.log.show();
        }
      });
      return;
    }
    // Show the server's messages as the client would, and remember errors for the status bar.
    client.onNotification(ShowMessageNotification.type, (m) => {
      if (m.type === MessageType.Error) {
        this.statusBar.setError(m.message);
        void vscode.window.showErrorMessage(m.message);
      } else if (m.type === MessageType.Warning) {
        void vscode.window.showWarningMessage(m.message);
      } else {
        void vscode.window.showInformationMessage(m.message);
      }
    });
    this.statusBar.setServer('running');
    this.onReady();
  }

  /**
   * Restart when the stored key differs from the one the server has. Idempotent and
   * serialised: "Set API Key" and SecretStorage's change event both call it.
   */
  keyChanged(): Promise<void> {
    this.keyCheck = this.keyCheck.then(async () => {
      if ((await this.keys.stored()) !== this.startedWithKey) {
        await this.restart();
      }
    }).catch((error) => this.log.error(`restart after a key change: ${errorText(error)}`));
    return this.keyCheck;
  }

  /** Tell the server the settings changed (it also pulls them again). */
  async settingsChanged(): Promise<void> {
    this.warnIfKeyInSettings();
    if (this.client && this.running) {
      await this.client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { deepseek: currentServerSettings() },
      });
    }
  }

  /**
   * Run a server command; rejects when the server is not running. With `onProgress`, the
   * command gets a fresh work-done token (in the params and, as deepseek-lsp reads it, in the
   * argument object) and its `$/progress` goes to `onProgress`.
   */
  async execute<T>(
    command: string,
    args?: Record<string, unknown>,
    token?: CancellationToken,
    onProgress?: (value: ProgressValue) => void,
  ): Promise<T> {
    if (this.starting) {
      await this.starting;
    }
    const client = this.client;
    if (!client || !this.running) {
      throw new Error('the DeepSeek language server is not running (see "DeepSeek: Show Log")');
    }
    let subscription: vscode.Disposable | undefined;
    let workDoneToken: string | undefined;
    let cancelListener: vscode.Disposable | undefined;
    if (onProgress) {
      workDoneToken = `deepseek-vscode-${process.pid}-${++this.progressCounter}-${Date.now()}`;
      const progressToken = workDoneToken;
      args = { ...(args ?? {}), workDoneToken };
      subscription = client.onProgress(WorkDoneProgress.type, progressToken, (value) => onProgress(value as ProgressValue));
      // The server keeps working after $/cancelRequest on executeCommand; the progress
      // cancel notification is what stops the upstream request.
      cancelListener = token?.onCancellationRequested(() => {
        void client.sendNotification(WorkDoneProgressCancelNotification.type, { token: progressToken });
      });
    }
    try {
      return (await client.sendRequest(
        ExecuteCommandRequest.type,
        { command, arguments: args === undefined ? [] : [args], workDoneToken },
        token,
      )) as T;
    } finally {
      subscription?.dispose();
      cancelListener?.dispose();
    }
  }

  private warnIfKeyInSettings(): void {
    if (!this.warnedKeyInSettings && hasKeyInSettings(inspector())) {
      this.warnedKeyInSettings = true;
      void vscode.window.showWarningMessage(
        'DeepSeek: `deepseek.apiKey` in settings.json is ignored (settings files get shared and synced). ' +
          'Run "DeepSeek: Set API Key" to keep the key in secret storage, then remove it from settings.json.',
        'Set API Key',
      ).then((pick) => {
        if (pick) {
          void vscode.commands.executeCommand('deepseek-lsp.setApiKey');
        }
      });
    }
  }

  private async explainMissingServer(message: string): Promise<void> {
    const pick = await vscode.window.showErrorMessage(message, 'Copy Install Command', 'Open Settings', 'Retry');
    if (pick === 'Copy Install Command') {
      await vscode.env.clipboard.writeText(INSTALL_COMMAND);
    } else if (pick === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'deepseek.serverPath');
    } else if (pick === 'Retry') {
      await this.restart();
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  if (error && typeof error === 'object' && 'message' in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}
