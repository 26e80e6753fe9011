import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ACTION_TITLES, PALETTE_COMMANDS, SERVER_COMMANDS } from '../src/logic/commandTable';
import { RESTART_SETTING_KEYS, SERVER_SETTING_KEYS } from '../src/logic/settings';

// Compiled to out/test/: the package root is two levels up.
const root = path.resolve(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

test('package.json contributes exactly the palette commands, all in the DeepSeek category', () => {
  const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command);
  assert.deepEqual(contributed, PALETTE_COMMANDS.map((c) => c.id));
  for (const c of manifest.contributes.commands) {
    assert.equal(c.category, 'DeepSeek');
    assert.equal(c.title, PALETTE_COMMANDS.find((p) => p.id === c.command)?.title);
  }
});

test('no palette command id collides with a server command (the client registers those)', () => {
  for (const c of PALETTE_COMMANDS) {
    assert.ok(!(SERVER_COMMANDS as readonly string[]).includes(c.id), c.id);
    assert.ok(!c.id.startsWith('deepseek.'), c.id);
  }
});

test('the issue\'s palette entries are all there', () => {
  const titles = PALETTE_COMMANDS.map((c) => c.title);
  for (const wanted of ['Ask About Selection…', 'Explain', 'Refactor', 'Add Documentation', 'Write Tests',
    'Show Balance', 'Show Status', 'Toggle Completions', 'Clear Cache', 'Set API Key']) {
    assert.ok(titles.includes(wanted), wanted);
  }
});

test('every server setting has a schema entry with a default and a description; no apiKey', () => {
  const props = manifest.contributes.configuration.properties;
  for (const key of [...SERVER_SETTING_KEYS, ...RESTART_SETTING_KEYS]) {
    const p = props[`deepseek.${key}`];
    assert.ok(p, key);
    assert.ok('default' in p, key);
    assert.ok(p.markdownDescription || p.description, key);
  }
  assert.equal(props['deepseek.apiKey'], undefined);
});

test('every server setting in package.json reaches the server', () => {
  const props = manifest.contributes.configuration.properties;
  const own = new Set<string>([...RESTART_SETTING_KEYS, 'trace.server', 'answerPages']);
  const listed = new Set<string>(SERVER_SETTING_KEYS);
  for (const name of Object.keys(props)) {
    const key = name.replace(/^deepseek\./, '');
    assert.ok(own.has(key) || listed.has(key), `deepseek.${key} is not forwarded to the server`);
  }
});

test('activation, entry point and packaging basics', () => {
  assert.equal(manifest.main, './dist/extension.js');
  assert.ok(manifest.activationEvents.includes('onStartupFinished'));
  assert.match(manifest.dependencies['vscode-languageclient'], /^\^10\./);
  assert.ok(fs.existsSync(path.join(root, manifest.icon)));
  const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  for (const entry of ['src/**', 'node_modules/**', 'test/**']) {
    assert.ok(ignore.split('\n').includes(entry), entry);
  }
});

test('every streaming palette command has progress and chat titles', () => {
  for (const c of PALETTE_COMMANDS.filter((p) => p.onSelection)) {
    const titles = ACTION_TITLES[c.server ?? ''];
    assert.ok(titles && titles.progress && titles.turn, c.id);
  }
});
