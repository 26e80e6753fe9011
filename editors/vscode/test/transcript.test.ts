import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, fenced, languageOfPath, linesLabel, readProgress, Transcript, transcriptMarkdown, turnMarkdown, usageLine } from '../src/logic/transcript';

test('progress reports carry deltas of the answer and of the reasoning', () => {
  // deepseek-lsp's reports: `delta` and `reasoning` since the last report, `message` a tail.
  assert.deepEqual(readProgress({ kind: 'report', message: 'the sum of a', delta: ' of a' }), { content: ' of a', reasoning: undefined });
  assert.deepEqual(readProgress({ kind: 'report', message: 'thinking…', reasoning: 'The' }), { content: undefined, reasoning: 'The' });
  // A report with only a message (another server, or an older one) is a preview.
  assert.deepEqual(readProgress({ kind: 'report', message: '…the end so far' }), { preview: '…the end so far' });
  assert.equal(readProgress({ kind: 'begin', title: 'DeepSeek', message: 'asking' }), undefined);
  assert.equal(readProgress({ kind: 'end', message: 'done' }), undefined);
  assert.equal(readProgress({ kind: 'report', percentage: 50 }), undefined);
  assert.equal(readProgress(null), undefined);
});

test('a turn streams, then the final result replaces the streamed text', () => {
  const t = new Transcript();
  const turn = t.begin('Ask', 'what is x?', 'a.py:1-3');
  t.stream(turn, { reasoning: 'Think' });
  t.stream(turn, { reasoning: 'ing.' });
  t.stream(turn, { content: 'x is ' });
  t.stream(turn, { content: '42' });
  assert.equal(turn.content, 'x is 42');
  assert.equal(turn.reasoning, 'Thinking.');
  t.finish(turn, { content: 'x is 42.', usage: { prompt_tokens: 100, prompt_cache_hit_tokens: 64, completion_tokens: 5 } });
  assert.equal(turn.state, 'done');
  assert.equal(turn.content, 'x is 42.');
  assert.equal(turn.reasoning, 'Thinking.');
  assert.match(turnMarkdown(turn).footer, /a\.py:1-3 · 100 prompt tokens \(64 from cache\), 5 output tokens/);
});

test('nothing changes after a cancel', () => {
  const t = new Transcript();
  const turn = t.begin('Explain', '');
  t.stream(turn, { content: 'Hel' });
  t.stream(turn, { content: 'lo' });
  assert.equal(turn.content, 'Hello');
  t.cancel(turn);
  t.stream(turn, { content: ' late' });
  t.finish(turn, { content: 'late answer' });
  assert.equal(turn.state, 'cancelled');
  assert.equal(turn.content, 'Hello');
  assert.match(turnMarkdown(turn).footer, /cancelled/);
});

test('failures are kept with their message; an empty result keeps the streamed text', () => {
  const t = new Transcript();
  const a = t.begin('Ask', 'q');
  t.fail(a, '402 Insufficient Balance');
  assert.equal(a.state, 'failed');
  assert.match(turnMarkdown(a).footer, /failed: 402 Insufficient Balance/);
  const b = t.begin('Ask', 'q');
  t.stream(b, { content: 'streamed' });
  t.finish(b, { content: '' });
  assert.equal(b.content, 'streamed');
});

test('the placeholder says whether the model is still thinking', () => {
  const t = new Transcript();
  const turn = t.begin('Ask', 'q');
  assert.equal(turnMarkdown(turn).answer, '_Waiting for DeepSeek…_');
  t.stream(turn, { preview: 'waiting for DeepSeek…' });
  assert.equal(turnMarkdown(turn).answer, '_Waiting for DeepSeek…_');
  t.stream(turn, { preview: 'thinking…' });
  assert.equal(turnMarkdown(turn).answer, '_Thinking…_');
  const other = t.begin('Ask', 'q');
  t.stream(other, { reasoning: 'hmm' });
  assert.equal(turnMarkdown(other).answer, '_Thinking…_');
});

test('previews show the tail of the answer while it streams, the result replaces them', () => {
  const t = new Transcript();
  const turn = t.begin('Explain', '');
  assert.equal(turnMarkdown(turn).phase, 'waiting');
  t.stream(turn, { preview: 'It adds *two* numbers' });
  assert.equal(turnMarkdown(turn).answer, '_…It adds \\*two\\* numbers_');
  assert.equal(turnMarkdown(turn).phase, 'preview');
  t.finish(turn, { content: 'It adds *two* numbers.', model: 'deepseek-v4-flash', documentUri: 'file:///tmp/a.md' });
  assert.equal(turn.preview, '');
  assert.equal(turnMarkdown(turn).answer, 'It adds *two* numbers.');
  assert.equal(turnMarkdown(turn).phase, 'answer');
  assert.match(turnMarkdown(turn).footer, /deepseek-v4-flash/);
  assert.equal(turn.documentUri, 'file:///tmp/a.md');
});

test('edit kinds say whether the selection was replaced', () => {
  const t = new Transcript();
  const a = t.begin('Refactoring', '');
  t.finish(a, { content: '```py\nx\n```', applied: true });
  assert.match(turnMarkdown(a).footer, /applied to the selection/);
  const b = t.begin('Refactoring', '');
  t.finish(b, { content: 'same', applied: false, reason: 'DeepSeek suggested no change' });
  assert.match(turnMarkdown(b).footer, /not applied: DeepSeek suggested no change/);
});

test('the markdown transcript keeps reasoning apart from the answer', () => {
  const t = new Transcript();
  const turn = t.begin('Ask', 'why?');
  t.stream(turn, { reasoning: 'because', content: 'Answer.' });
  t.finish(turn, undefined);
  const md = transcriptMarkdown(t.turns);
  assert.match(md, /^### \*\*Ask\*\*: why\?/);
  assert.match(md, /<details><summary>Reasoning<\/summary>\n\nbecause\n\n<\/details>\n\nAnswer\./);
  t.clear();
  assert.equal(t.turns.length, 0);
  assert.equal(t.newSession, true);
});

test('helpers: usage line, html escaping, line labels', () => {
  assert.equal(usageLine(undefined), undefined);
  assert.equal(usageLine({ promptTokens: 5, completionTokens: 2 }), '5 prompt tokens, 2 output tokens');
  assert.equal(escapeHtml('<a href="x">&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
  assert.equal(linesLabel('a.py', 0, 0, 5), 'a.py:1');
  assert.equal(linesLabel('a.py', 2, 5, 0), 'a.py:3-5');
  assert.equal(linesLabel('a.py', 2, 5, 1), 'a.py:3-6');
});

test('look-ups stream in from progress reports and the result lists them', () => {
  // A look-up report: `lookup` (and a `message` saying the same) — not a preview of the answer.
  const report = { kind: 'report', message: 'looked up `scale` in scaling.py', lookup: 'looked up `scale` in scaling.py' };
  assert.deepEqual(readProgress(report), { lookup: 'looked up `scale` in scaling.py' });
  const t = new Transcript();
  const turn = t.begin('Ask', 'what does it return?');
  t.stream(turn, readProgress(report)!);
  assert.deepEqual(turn.lookups, ['looked up `scale` in scaling.py']);
  assert.equal(turn.preview, '');
  assert.equal(turnMarkdown(turn).lookups, '- looked up `scale` in scaling.py');
  t.finish(turn, { content: 'A list.', lookups: ['looked up `scale` in scaling.py', 'looked up `x`: not found'] });
  const md = turnMarkdown(turn);
  assert.equal(md.lookups, '- looked up `scale` in scaling.py\n- looked up `x`: not found');
  assert.match(transcriptMarkdown([turn]), /- looked up `x`: not found\n\nA list\./);
});

test('a cut answer shows its notice', () => {
  const t = new Transcript();
  const turn = t.begin('Ask', 'essay');
  t.finish(turn, { content: 'word word', notice: 'The answer was cut at 256 tokens (the `chatMaxTokens` setting).' });
  assert.equal(turnMarkdown(turn).notice, '**Note:** The answer was cut at 256 tokens (the `chatMaxTokens` setting).');
  assert.match(transcriptMarkdown([turn]), /word word\n\n\*\*Note:\*\* The answer was cut at 256 tokens/);
  const plain = t.begin('Ask', 'q');
  t.finish(plain, { content: 'ok' });
  assert.equal(turnMarkdown(plain).notice, '');
});

test('Write tests shows the test file and what was done with it, not the JSON', () => {
  const t = new Transcript();
  const turn = t.begin('Write Tests', '');
  const code = 'from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n';
  t.finish(turn, {
    content: JSON.stringify({ path: 'tests/test_calc.py', content: code }),
    path: 'tests/test_calc.py',
    code,
    applied: true,
    file: { path: 'tests/test_calc.py', uri: 'file:///w/tests/test_calc.py', created: true },
  });
  assert.equal(turn.content, '`tests/test_calc.py`:\n\n```python\n' + code.trimEnd() + '\n```');
  assert.match(turnMarkdown(turn).footer, /created tests\/test_calc\.py/);
  const appended = t.begin('Write Tests', '');
  t.finish(appended, { path: 'tests/test_calc.py', code, applied: true, file: { path: 'tests/test_calc.py', uri: 'file:///w/tests/test_calc.py', created: false } });
  assert.match(turnMarkdown(appended).footer, /added the tests to tests\/test_calc\.py/);
  const refused = t.begin('Write Tests', '');
  t.finish(refused, { path: '../x/test_calc.py', code, applied: false, reason: 'the path leaves the workspace' });
  assert.match(turnMarkdown(refused).footer, /not applied: the path leaves the workspace/);
  assert.match(refused.content, /^`\.\.\/x\/test_calc\.py`:/);
});

test('code fences outgrow the backticks in the code', () => {
  assert.equal(fenced('a = "```"\n', 'python'), '````python\na = "```"\n````');
  assert.equal(languageOfPath('src/a.TS'), 'typescript');
  assert.equal(languageOfPath('Makefile'), '');
});
