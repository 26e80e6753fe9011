import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  explicitValue,
  hasKeyInSettings,
  initializationOptions,
  needsRestart,
  pickApiKey,
  serverArgs,
  serverEnvironment,
  serverSettings,
  SERVER_SETTING_KEYS,
  InspectedSetting,
} from '../src/logic/settings';

function inspector(values: Record<string, InspectedSetting>): (key: string) => InspectedSetting | undefined {
  return (key) => values[key];
}

test('only explicitly set values reach the server, so env and server defaults stay in charge', () => {
  const settings = serverSettings(
    inspector({
      debounceMs: { globalValue: 50 },
      baseUrl: {}, // only the package.json default: not sent (DEEPSEEK_BASE_URL must win)
      enable: { globalValue: true, workspaceValue: false },
      serverPath: { globalValue: '/opt/deepseek-lsp' },
      apiKey: { globalValue: 'sk-secret' },
    }),
  );
  assert.deepEqual(settings, { debounceMs: 50, enable: false });
});

test('where the key goes is read from the user\'s settings only, never from a workspace', () => {
  const settings = serverSettings(
    inspector({
      baseUrl: { globalValue: 'https://proxy.example', workspaceValue: 'https://evil.example' },
      allowInsecureHttp: { workspaceValue: true, workspaceFolderValue: true },
      chatMaxTokens: { workspaceValue: 512 },
    }),
  );
  assert.deepEqual(settings, { baseUrl: 'https://proxy.example', chatMaxTokens: 512 });
});

test('the most specific scope wins', () => {
  assert.equal(explicitValue({ globalValue: 1, workspaceValue: 2, workspaceFolderValue: 3 }), 3);
  assert.equal(explicitValue({ globalValue: 1, globalLanguageValue: 4, workspaceFolderValue: 3 }), 4);
  assert.equal(explicitValue({ globalValue: false }), false);
  assert.equal(explicitValue(undefined), undefined);
});

test('the API key is never a server setting, and a key in settings.json is noticed', () => {
  assert.ok(!(SERVER_SETTING_KEYS as readonly string[]).includes('apiKey'));
  assert.equal(hasKeyInSettings(inspector({ apiKey: { workspaceValue: 'sk-x' } })), true);
  assert.equal(hasKeyInSettings(inspector({ apiKey: { workspaceValue: '  ' } })), false);
  assert.equal(hasKeyInSettings(inspector({})), false);
});

test('objects and lists pass through unchanged', () => {
  const prices = { cacheHit: 0.1, cacheMiss: 1, output: 2, currency: 'CNY' };
  const settings = serverSettings(inspector({ prices: { globalValue: prices }, exclude: { workspaceValue: [] } }));
  assert.deepEqual(settings, { prices, exclude: [] });
});

test('secret storage wins over the environment; whitespace is trimmed', () => {
  assert.deepEqual(pickApiKey(' sk-stored ', 'sk-env'), { key: 'sk-stored', source: 'secret-storage' });
  assert.deepEqual(pickApiKey(undefined, 'sk-env'), { key: 'sk-env', source: 'environment' });
  assert.deepEqual(pickApiKey('', ''), { source: 'none' });
});

test('the server environment carries the stored key and keeps everything else', () => {
  const env = serverEnvironment({ PATH: '/bin', DEEPSEEK_API_KEY: 'sk-env', GONE: undefined }, 'sk-stored');
  assert.deepEqual(env, { PATH: '/bin', DEEPSEEK_API_KEY: 'sk-stored' });
  assert.equal(serverEnvironment({ DEEPSEEK_API_KEY: 'sk-env' }, undefined).DEEPSEEK_API_KEY, 'sk-env');
  assert.equal('DEEPSEEK_API_KEY' in serverEnvironment({ PATH: '/bin' }, undefined), false);
});

test('server path and arguments changes need a restart, other settings do not', () => {
  assert.equal(needsRestart((s) => s === 'deepseek.serverPath'), true);
  assert.equal(needsRestart((s) => s === 'deepseek.serverArgs'), true);
  assert.equal(needsRestart((s) => s === 'deepseek.debounceMs' || s === 'deepseek'), false);
  assert.deepEqual(serverArgs(['--log-level', 'debug', 3]), ['--log-level', 'debug']);
  assert.deepEqual(serverArgs('nope'), []);
});

test('initializationOptions carry the settings and turn answer pages off (the chat view shows answers)', () => {
  assert.deepEqual(initializationOptions({ debounceMs: 50 }), { debounceMs: 50, answerPages: false });
  assert.deepEqual(initializationOptions({}), { answerPages: false });
});
