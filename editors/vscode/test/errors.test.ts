import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFailure } from '../src/logic/errors';
import { Transcript, turnMarkdown } from '../src/logic/transcript';

test('API failures keep their actionable message, without a second "DeepSeek:"', () => {
  const failure = describeFailure({ code: -32803, message: 'DeepSeek: Insufficient balance: top up at platform.deepseek.com.', data: { kind: 'insufficient_balance', status: 402 } });
  assert.deepEqual(failure, { cancelled: false, message: 'Insufficient balance: top up at platform.deepseek.com' });
});

test('cancelled and superseded answers are not errors', () => {
  assert.equal(describeFailure({ code: -32800, message: 'Request cancelled' }).cancelled, true);
  const superseded = describeFailure({ code: -32800, message: 'DeepSeek: superseded by a newer question.', data: { kind: 'superseded' } });
  assert.deepEqual(superseded, { cancelled: true, message: 'superseded by a newer question' });
  const t = new Transcript();
  const turn = t.begin('Ask', 'q');
  t.cancel(turn, superseded.message);
  assert.match(turnMarkdown(turn).footer, /superseded by a newer question/);
});

test('odd errors still give one line', () => {
  assert.deepEqual(describeFailure(new Error('the DeepSeek language server is not running')), { cancelled: false, message: 'the DeepSeek language server is not running' });
  assert.deepEqual(describeFailure(undefined), { cancelled: false, message: 'unknown error' });
  assert.deepEqual(describeFailure('boom'), { cancelled: false, message: 'boom' });
});
