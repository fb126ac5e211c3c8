// The preload as Electron loads it: bundled the way scripts/build-preload.mjs bundles it, then run
// with a stand-in for the 'electron' module (there is no Electron binary on CI machines), recording
// what it exposes and what it calls.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { test } from 'node:test';
import { build } from 'esbuild';
import { channelNames, EVENT_CHANNEL, ipcChannel } from '../../../main/contract/names.ts';

const preloadEntry = fileURLToPath(new URL('../../../main/shell/preload.ts', import.meta.url));

interface Loaded {
  exposed: Map<string, Record<string, (...args: unknown[]) => unknown>>;
  invoked: { channel: string; payload: unknown }[];
  pathRequests: unknown[];
}

async function loadPreload(pathOf: (file: unknown) => string): Promise<Loaded> {
  const bundle = await build({
    entryPoints: [preloadEntry],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['electron'],
    logLevel: 'silent',
  });
  const loaded: Loaded = { exposed: new Map(), invoked: [], pathRequests: [] };
  const electron = {
    contextBridge: {
      exposeInMainWorld: (key: string, api: Record<string, (...args: unknown[]) => unknown>) =>
        loaded.exposed.set(key, api),
    },
    ipcRenderer: {
      invoke: async (channel: string, payload: unknown) => {
        loaded.invoked.push({ channel, payload });
        return { ok: true, value: null };
      },
      on: () => {},
      removeListener: () => {},
    },
    webUtils: {
      getPathForFile: (file: unknown) => {
        loaded.pathRequests.push(file);
        return pathOf(file);
      },
    },
  };
  const module = { exports: {} };
  const require = (name: string) => {
    if (name === 'electron') return electron;
    throw new Error(`the preload may load only electron, not ${name}`);
  };
  runInNewContext(bundle.outputFiles[0]!.text, { module, exports: module.exports, require });
  return loaded;
}

test('the preload exposes window.r2c with the channels, onEvent and pathForFile, nothing else', async () => {
  const { exposed } = await loadPreload(() => '');
  assert.deepEqual([...exposed.keys()], ['r2c']);
  assert.deepEqual(
    Object.keys(exposed.get('r2c')!).sort(),
    [...channelNames, 'onEvent', 'pathForFile'].sort(),
  );
});

test('pathForFile answers from webUtils.getPathForFile without any IPC', async () => {
  const dropped = { name: 'chest.png' };
  const { exposed, invoked, pathRequests } = await loadPreload((file) =>
    file === dropped ? '/media/cd/chest.png' : '',
  );
  const bridge = exposed.get('r2c')!;
  assert.equal(bridge['pathForFile']!(dropped), '/media/cd/chest.png');
  assert.equal(bridge['pathForFile']!({ name: 'from-a-web-page.png' }), '');
  assert.equal(pathRequests.length, 2);
  assert.equal(pathRequests[0], dropped);
  assert.deepEqual(invoked, []);
});

test('channel methods still go through IPC', async () => {
  const { exposed, invoked } = await loadPreload(() => '');
  await exposed.get('r2c')!['listStudies']!({ limit: 1 });
  assert.deepEqual(invoked, [{ channel: ipcChannel('listStudies'), payload: { limit: 1 } }]);
  assert.notEqual(ipcChannel('listStudies'), EVENT_CHANNEL);
});
