/** The API key in VS Code's SecretStorage (never in settings.json). */
import * as vscode from 'vscode';
import { pickApiKey, KeySource } from './logic/settings';

const SECRET_ID = 'deepseek.apiKey';
export const KEY_PAGE = 'https://platform.deepseek.com/api_keys';

export class ApiKeyStore {
  readonly onDidChange: vscode.Event<void>;
  private readonly emitter = new vscode.EventEmitter<void>();

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.onDidChange = this.emitter.event;
    secrets.onDidChange((e) => {
      if (e.key === SECRET_ID) {
        this.emitter.fire();
      }
    });
  }

  async stored(): Promise<string | undefined> {
    try {
      return (await this.secrets.get(SECRET_ID)) || undefined;
    } catch {
      return undefined; // a broken keyring must not stop the extension: fall back to the env
    }
  }

  async source(): Promise<KeySource> {
    return pickApiKey(await this.stored(), process.env.DEEPSEEK_API_KEY).source;
  }

  /** Ask for the key (masked input) and store it; returns whether a key was stored. */
  async prompt(): Promise<boolean> {
    const key = await vscode.window.showInputBox({
      title: 'DeepSeek API Key',
      prompt: `Stored in VS Code's secret storage, never in settings.json. Create one at ${KEY_PAGE}`,
      placeHolder: 'sk-…',
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value.trim() === '' ? 'The key must not be empty.' : /\s/.test(value.trim()) ? 'The key has no spaces.' : undefined),
    });
    if (key === undefined) {
      return false;
    }
    await this.secrets.store(SECRET_ID, key.trim());
    return true;
  }

  async remove(): Promise<void> {
    await this.secrets.delete(SECRET_ID);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
