import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandHome, resolveServer } from '../src/logic/serverPath';

const exists = (...files: string[]) => (file: string): boolean => files.includes(file);

test('a bare name is looked up on PATH, in order', () => {
  const result = resolveServer(undefined, {
    pathVariable: '/usr/bin:/opt/venv/bin:/usr/local/bin',
    isExecutable: exists('/opt/venv/bin/deepseek-lsp', '/usr/local/bin/deepseek-lsp'),
    delimiter: ':',
  });
  assert.deepEqual(result, { ok: true, command: '/opt/venv/bin/deepseek-lsp' });
});

test('~/.local/bin (pipx, uv tool) is searched even when PATH lacks it', () => {
  const result = resolveServer('deepseek-lsp', {
    pathVariable: '/usr/bin',
    home: '/home/ann',
    isExecutable: exists('/home/ann/.local/bin/deepseek-lsp'),
    delimiter: ':',
  });
  assert.deepEqual(result, { ok: true, command: '/home/ann/.local/bin/deepseek-lsp' });
});

test('a path is used as given, with ~ expanded', () => {
  assert.equal(expandHome('~/bin/x', '/home/ann'), '/home/ann/bin/x');
  assert.equal(expandHome('${userHome}/bin/x', '/home/ann'), '/home/ann/bin/x');
  const result = resolveServer('~/venv/bin/deepseek-lsp', {
    home: '/home/ann',
    isExecutable: exists('/home/ann/venv/bin/deepseek-lsp'),
  });
  assert.deepEqual(result, { ok: true, command: '/home/ann/venv/bin/deepseek-lsp' });
});

test('a missing server gets one message with install steps and the setting to change', () => {
  const result = resolveServer('', { pathVariable: '/usr/bin:/bin', isExecutable: () => false, delimiter: ':' });
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.deepEqual(result.tried, ['/usr/bin/deepseek-lsp', '/bin/deepseek-lsp']);
    assert.match(result.message, /not on PATH/);
    assert.match(result.message, /pipx install \./);
    assert.match(result.message, /deepseek\.serverPath/);
  }
  const missingPath = resolveServer('/nope/deepseek-lsp', { isExecutable: () => false });
  assert.equal(missingPath.ok, false);
  if (!missingPath.ok) {
    assert.match(missingPath.message, /\/nope\/deepseek-lsp does not exist or is not executable/);
  }
});

test('Windows suffixes are tried for a bare name', () => {
  const result = resolveServer('deepseek-lsp', {
    pathVariable: 'C:\\tools',
    delimiter: ';',
    suffixes: ['.exe', ''],
    isExecutable: (f) => f.endsWith('deepseek-lsp.exe'),
  });
  assert.equal(result.ok, true);
});
