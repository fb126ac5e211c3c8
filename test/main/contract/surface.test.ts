import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { z } from 'zod';
import { appEvent, contract } from '../../../main/contract/channels.ts';
import { channelNames } from '../../../main/contract/names.ts';

// The whole IPC surface as JSON Schema. A new or changed channel changes this snapshot, so it shows
// up in review. Regenerate deliberately with UPDATE_SNAPSHOTS=1.
const snapshotFile = new URL('./ipc-surface.snapshot.json', import.meta.url);

function surface() {
  return {
    channels: Object.fromEntries(
      Object.entries(contract).map(([name, { input, output }]) => [
        name,
        {
          input: z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }),
          output: z.toJSONSchema(output, { unrepresentable: 'any' }),
        },
      ]),
    ),
    events: z.toJSONSchema(appEvent),
  };
}

test('the IPC surface matches the reviewed snapshot', () => {
  const current = `${JSON.stringify(surface(), null, 2)}\n`;
  if (process.env.UPDATE_SNAPSHOTS === '1') writeFileSync(snapshotFile, current);
  assert.equal(
    current,
    readFileSync(snapshotFile, 'utf8'),
    'IPC surface changed: review it, then UPDATE_SNAPSHOTS=1',
  );
});

test('the preload exposes exactly the contract channels', () => {
  assert.deepEqual([...channelNames].sort(), Object.keys(contract).sort());
});

test('every channel refuses unknown payload fields', () => {
  for (const [name, { input }] of Object.entries(contract)) {
    const extra = input.safeParse({ __proto_pollution__: true });
    assert.equal(extra.success, false, `${name} accepted an unknown field`);
  }
});
