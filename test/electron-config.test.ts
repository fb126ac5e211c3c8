import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import config from '../electron.config.ts';
import { repoRoot } from './helpers/paths.ts';

test('targets: AppImage + deb on Linux, NSIS on Windows, dmg on macOS arm64', () => {
  assert.equal(config.appId, 'org.r2c.workstation');
  assert.equal(config.productName, 'R2C Workstation');
  const targets = (platform: unknown) =>
    ((platform as { target: { target: string; arch: string[] }[] }).target ?? []).map(
      (t) => `${t.target}:${t.arch}`,
    );
  assert.deepEqual(targets(config.linux), ['AppImage:x64', 'deb:x64']);
  assert.deepEqual(targets(config.win), ['nsis:x64']);
  assert.deepEqual(targets(config.mac), ['dmg:arm64']);
  assert.equal(config.asar, true);
});

test('Electron fuses lock the binary down', () => {
  assert.deepEqual(config.electronFuses, {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  });
});

test('each platform packs only its own onnxruntime binaries', () => {
  const ortDir = join(repoRoot, 'node_modules/onnxruntime-node/bin/napi-v6');
  const shipped: Record<string, string> = { linux: 'linux/x64', win: 'win32/x64', mac: 'darwin/arm64' };
  for (const [platform, keep] of Object.entries(shipped)) {
    const files = (config[platform as 'linux'] as { files: string[] }).files;
    for (const os of readdirSync(ortDir)) {
      for (const arch of readdirSync(join(ortDir, os))) {
        const dir = `${os}/${arch}`;
        const excluded = files.some(
          (f) =>
            f === `!node_modules/onnxruntime-node/bin/napi-v6/${os}/**` ||
            f === `!node_modules/onnxruntime-node/bin/napi-v6/${dir}/**`,
        );
        assert.equal(
          excluded,
          dir !== keep,
          `${platform}: ${dir} should be ${dir === keep ? 'packed' : 'excluded'}`,
        );
      }
    }
  }
});

test('model files ship as extra resources and native code is unpacked from the asar', () => {
  assert.deepEqual(config.extraResources, [
    { from: 'models/shipped', to: 'models', filter: ['*.onnx', '*.model.json', '*.md'] },
  ]);
  const unpack = config.asarUnpack as string[];
  assert.ok(unpack.includes('**/*.node'));
  assert.ok(unpack.some((p) => p.startsWith('node_modules/onnxruntime-node/bin')));
});
