import assert from 'node:assert/strict';
import { test } from 'node:test';
import { providerCandidates, withProviderFallback } from '../../../main/inference/providers.ts';

test('each platform tries its accelerator first and CPU last', () => {
  assert.deepEqual(providerCandidates('linux', 'x64', true), ['cuda', 'cpu']);
  assert.deepEqual(providerCandidates('linux', 'x64', false), ['cpu']);
  assert.deepEqual(providerCandidates('linux', 'arm64', true), ['cpu']);
  assert.deepEqual(providerCandidates('win32', 'x64', false), ['dml', 'cpu']);
  assert.deepEqual(providerCandidates('darwin', 'arm64', false), ['coreml', 'cpu']);
  assert.deepEqual(providerCandidates('darwin', 'x64', false), ['cpu']);
});

test('a failing provider falls back to the next and the failure is recorded', async () => {
  const tried: string[] = [];
  const result = await withProviderFallback(['cuda', 'cpu'], async (provider) => {
    tried.push(provider);
    if (provider === 'cuda') throw new Error('libcudart.so.12: cannot open shared object file');
    return `session on ${provider}`;
  });
  assert.deepEqual(tried, ['cuda', 'cpu']);
  assert.equal(result.provider, 'cpu');
  assert.equal(result.session, 'session on cpu');
  assert.deepEqual(result.failed, [
    { provider: 'cuda', error: 'libcudart.so.12: cannot open shared object file' },
  ]);
});

test('the first working provider is used without trying the rest', async () => {
  const tried: string[] = [];
  const result = await withProviderFallback(['dml', 'cpu'], async (provider) => {
    tried.push(provider);
    return provider;
  });
  assert.deepEqual(tried, ['dml']);
  assert.equal(result.provider, 'dml');
});

test('when every provider fails, the error lists each reason', async () => {
  await assert.rejects(
    withProviderFallback(['coreml', 'cpu'], async (provider) => {
      throw new Error(`${provider} broken`);
    }),
    /no execution provider could load the model \(coreml: coreml broken; cpu: cpu broken\)/,
  );
});
