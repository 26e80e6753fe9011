/**
 * The palette commands: their ids, titles and the server command each one runs.
 *
 * vscode-languageclient registers a VS Code command under every id the server lists in
 * `executeCommandProvider` (`deepseek.chat`, `deepseek.status`, …), so the extension's own
 * commands live under a different prefix (`deepseek-lsp.`). A unit test checks that
 * package.json contributes exactly these and that no id collides with a server command.
 */

export interface PaletteCommand {
  /** VS Code command id (contributed in package.json). */
  id: string;
  /** Title after the "DeepSeek" category. */
  title: string;
  /** The `workspace/executeCommand` it runs, if it maps to one directly. */
  server?: string;
  /** Works on the selection (or the current line when nothing is selected). */
  onSelection?: boolean;
}

export const SERVER_COMMANDS = [
  'deepseek.chat',
  'deepseek.explain',
  'deepseek.refactor',
  'deepseek.document',
  'deepseek.tests',
  'deepseek.fix',
  'deepseek.balance',
  'deepseek.models',
  'deepseek.status',
  'deepseek.toggle',
  'deepseek.clearCache',
] as const;

export const PALETTE_COMMANDS: readonly PaletteCommand[] = [
  { id: 'deepseek-lsp.ask', title: 'Ask About Selection…', server: 'deepseek.chat', onSelection: true },
  { id: 'deepseek-lsp.explain', title: 'Explain', server: 'deepseek.explain', onSelection: true },
  { id: 'deepseek-lsp.refactor', title: 'Refactor', server: 'deepseek.refactor', onSelection: true },
  { id: 'deepseek-lsp.document', title: 'Add Documentation', server: 'deepseek.document', onSelection: true },
  { id: 'deepseek-lsp.tests', title: 'Write Tests', server: 'deepseek.tests', onSelection: true },
  { id: 'deepseek-lsp.newChat', title: 'New Chat' },
  { id: 'deepseek-lsp.showChat', title: 'Show Chat' },
  { id: 'deepseek-lsp.balance', title: 'Show Balance', server: 'deepseek.balance' },
  { id: 'deepseek-lsp.models', title: 'List Models', server: 'deepseek.models' },
  { id: 'deepseek-lsp.status', title: 'Show Status', server: 'deepseek.status' },
  { id: 'deepseek-lsp.toggle', title: 'Toggle Completions', server: 'deepseek.toggle' },
  { id: 'deepseek-lsp.clearCache', title: 'Clear Cache', server: 'deepseek.clearCache' },
  { id: 'deepseek-lsp.setApiKey', title: 'Set API Key' },
  { id: 'deepseek-lsp.removeApiKey', title: 'Remove API Key' },
  { id: 'deepseek-lsp.restart', title: 'Restart Server' },
  { id: 'deepseek-lsp.showLog', title: 'Show Log' },
];

/** Per streaming server command: the progress notification's title and the chat turn's. */
export const ACTION_TITLES: Record<string, { progress: string; turn: string }> = {
  'deepseek.chat': { progress: 'DeepSeek is answering', turn: 'Ask' },
  'deepseek.explain': { progress: 'DeepSeek is explaining', turn: 'Explain' },
  'deepseek.refactor': { progress: 'DeepSeek is refactoring', turn: 'Refactor' },
  'deepseek.document': { progress: 'DeepSeek is adding documentation', turn: 'Add Documentation' },
  'deepseek.tests': { progress: 'DeepSeek is writing tests', turn: 'Write Tests' },
  'deepseek.fix': { progress: 'DeepSeek is fixing', turn: 'Fix' },
};
