import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeSkip, fileName, formatCost, statusBarView, statusSummary, ServerStatus } from '../src/logic/status';

const status: ServerStatus = {
  version: '0.1.0',
  enabled: true,
  keyConfigured: true,
  model: 'deepseek-v4-flash',
  lastError: null,
  upstreamRequests: 12,
  suggestionsShown: 9,
  promptCacheHitTokens: 10240,
  promptCacheMissTokens: 1024,
  promptCacheHitShare: 0.9091,
  completionTokens: 300,
  estimatedCost: 0.000698,
  currency: 'USD',
};

test('the item shows on, off, working, error and missing states', () => {
  assert.equal(statusBarView({ server: 'running', inFlight: 0, enabled: true }).text, '$(sparkle) DeepSeek');
  assert.equal(statusBarView({ server: 'running', inFlight: 0, enabled: false }).text, '$(circle-slash) DeepSeek');
  assert.equal(statusBarView({ server: 'running', inFlight: 2, enabled: true }).text, '$(sync~spin) DeepSeek');
  assert.equal(statusBarView({ server: 'starting', inFlight: 0, enabled: true }).text, '$(loading~spin) DeepSeek');
  const missing = statusBarView({ server: 'missing', inFlight: 0, enabled: true });
  assert.equal(missing.kind, 'error');
  const failing = statusBarView({ server: 'running', inFlight: 0, enabled: true, status: { ...status, lastError: 'Insufficient balance' } });
  assert.equal(failing.text, '$(warning) DeepSeek');
  assert.equal(failing.kind, 'warning');
  assert.match(failing.tooltip, /Last error: Insufficient balance/);
});

test('the tooltip carries tokens, cache share and cost from deepseek.status', () => {
  const view = statusBarView({ server: 'running', inFlight: 0, enabled: true, status });
  assert.match(view.tooltip, /inline completions on/);
  assert.match(view.tooltip, /\| Requests to DeepSeek \| 12 \|/);
  assert.match(view.tooltip, /\| Prompt tokens \(cache hit\) \| 10,240 \|/);
  assert.match(view.tooltip, /\| Cache hit share \| 91 % \|/);
  assert.match(view.tooltip, /\| Estimated cost \| 0\.0007 USD \|/);
  assert.match(view.tooltip, /deepseek-v4-flash/);
});

test('errors cannot break the markdown table or inject links', () => {
  const view = statusBarView({ server: 'running', inFlight: 0, enabled: true, lastError: 'bad | [x](http://e)\nnext' });
  assert.ok(view.tooltip.includes('bad \\| \\[x\\](http://e) next'));
});

test('a missing key is pointed out', () => {
  const view = statusBarView({ server: 'running', inFlight: 0, enabled: true, status: { ...status, keyConfigured: false } });
  assert.match(view.tooltip, /Set API Key/);
  assert.match(statusSummary({ ...status, keyConfigured: false }), /no API key/);
});

test('costs keep small amounts readable', () => {
  assert.equal(formatCost(0, 'USD'), '0.00 USD');
  assert.equal(formatCost(0.0123, 'CNY'), '0.01 CNY');
  assert.equal(formatCost(0.00012, undefined), '0.0001 USD');
  assert.equal(formatCost(3.456, 'USD'), '3.46 USD');
  assert.equal(formatCost(0.000017, 'USD'), '< 0.0001 USD');
});

test('the summary names state, model, tokens and cost', () => {
  const line = statusSummary(status);
  assert.match(line, /^DeepSeek 0\.1\.0: completions on/);
  assert.match(line, /model deepseek-v4-flash/);
  assert.match(line, /10,240 cached \/ 1,024 uncached prompt tokens/);
});

test('the tooltip and the summary say why the last request was not sent', () => {
  const skipped = { ...status, lastSkip: { reason: 'midWord', uri: 'file:///home/me/src/calc.py' } };
  const view = statusBarView({ server: 'running', inFlight: 0, enabled: true, status: skipped });
  assert.match(view.tooltip, /Last request not sent to DeepSeek: the cursor was inside a word \(midWord\), calc\.py/);
  assert.match(statusSummary(skipped), /last skipped: the cursor was inside a word \(midWord\), calc\.py/);
  // Nothing skipped yet (null), or a server without the field: no line.
  for (const lastSkip of [null, undefined]) {
    const plain = statusBarView({ server: 'running', inFlight: 0, enabled: true, status: { ...status, lastSkip } });
    assert.doesNotMatch(plain.tooltip, /not sent/);
    assert.doesNotMatch(statusSummary({ ...status, lastSkip }), /skipped/);
  }
});

test('skip reasons: known ones explained, details and unknown ones kept, names decoded', () => {
  assert.equal(describeSkip({ reason: 'excluded', uri: 'file:///p/.env' }), 'the file matches deepseek.exclude (excluded), .env');
  assert.equal(describeSkip({ reason: 'paused: auth' }), 'completions are paused after an error (paused: auth)');
  assert.equal(describeSkip({ reason: 'somethingNew', uri: 'untitled:Untitled-1' }), 'somethingNew, Untitled-1');
  assert.equal(fileName('file:///a/My%20Notes.md'), 'My Notes.md');
  assert.equal(fileName(undefined), '');
});

test('a skip reason cannot break the tooltip', () => {
  const view = statusBarView({
    server: 'running', inFlight: 0, enabled: true,
    status: { ...status, lastSkip: { reason: 'x | [y](http://e)', uri: 'file:///a/b_[c].py' } },
  });
  assert.ok(view.tooltip.includes('x \\| \\[y\\](http://e), b\\_\\[c\\].py'), view.tooltip);
});
