import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import config from '../electron.config.ts';
import { cliArguments } from '../main/shell/cli-entry.ts';
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

// --- The installed app carries the CLI (resources/bin/r2c, r2c.cmd; the deb's /usr/bin/r2c link) ---

test('the CLI launchers ship as extra resources of each platform; RunAsNode stays fused off', () => {
  const extra = (platform: 'linux' | 'mac' | 'win') =>
    (config[platform] as { extraResources: { from: string; to: string }[] }).extraResources;
  assert.deepEqual(extra('linux'), [{ from: 'build/bin/r2c', to: 'bin/r2c' }]);
  assert.deepEqual(extra('mac'), [{ from: 'build/bin/r2c', to: 'bin/r2c' }]);
  assert.deepEqual(extra('win'), [{ from: 'build/bin/r2c.cmd', to: 'bin/r2c.cmd' }]);
  for (const { from } of [...extra('linux'), ...extra('win')])
    assert.ok(existsSync(join(repoRoot, from)), from);
  assert.ok((statSync(join(repoRoot, 'build/bin/r2c')).mode & 0o111) !== 0, 'r2c is executable');
  assert.equal(config.electronFuses?.runAsNode, false);
  assert.equal((config.linux as { executableName: string }).executableName, 'r2c-workstation');
});

test('r2c.cmd runs the installed R2C Workstation.exe with --cli and passes its exit code', () => {
  const text = readFileSync(join(repoRoot, 'build/bin/r2c.cmd'), 'utf8');
  assert.ok(
    text
      .split('\n')
      .slice(0, -1)
      .every((line) => line.endsWith('\r')),
    'CRLF line endings',
  );
  assert.match(text, new RegExp(`%~dp0\\.\\.\\\\\\.\\.\\\\${config.productName}\\.exe`));
  assert.match(text, /"%R2C_APP%" --cli %\*/);
  assert.match(text, /exit \/b %ERRORLEVEL%/);
});

/** electron-builder's template expansion (app-builder-lib FpmTarget writeConfigFile). */
function expand(template: string, options: Record<string, string>): string {
  return template.replace(/\${([a-zA-Z]+)}/g, (_m, name: string) => {
    if (!(name in options)) throw new Error(`Macro ${name} is not defined`);
    return options[name]!;
  });
}

test('the deb scripts keep electron-builder’s steps and add and remove the /usr/bin/r2c link', () => {
  const deb = config.deb as { afterInstall: string; afterRemove: string };
  const options = {
    executable: 'r2c-workstation',
    sanitizedProductName: 'R2C Workstation',
    productFilename: 'R2C Workstation',
  };
  const defaults = join(repoRoot, 'node_modules/app-builder-lib/templates/linux');
  for (const [ours, theirs] of [
    [deb.afterInstall, 'after-install.tpl'],
    [deb.afterRemove, 'after-remove.tpl'],
  ] as const) {
    const text = readFileSync(join(repoRoot, ours), 'utf8');
    for (const line of readFileSync(join(defaults, theirs), 'utf8').split('\n'))
      assert.ok(text.includes(line), `${ours} keeps electron-builder's line: ${line}`);
    const script = expand(text, options);
    const syntax = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
  }
  const install = expand(readFileSync(join(repoRoot, deb.afterInstall), 'utf8'), options);
  assert.match(install, /ln -sf '\/opt\/R2C Workstation\/resources\/bin\/r2c' '\/usr\/bin\/r2c'/);
  const remove = expand(readFileSync(join(repoRoot, deb.afterRemove), 'utf8'), options);
  assert.match(remove, /rm -f '\/usr\/bin\/r2c'/);
});

test('bin/r2c of an installed Linux app runs the app binary with --cli, through the PATH link, with the exit code', (t) => {
  if (process.platform === 'win32') return t.skip('a POSIX shell script');
  const root = mkdtempSync(join(tmpdir(), 'r2c-install-'));
  try {
    // The deb's layout: /opt/R2C Workstation/{r2c-workstation, resources/bin/r2c}, /usr/bin/r2c -> the launcher.
    const install = join(root, 'opt', 'R2C Workstation');
    mkdirSync(join(install, 'resources', 'bin'), { recursive: true });
    const record = join(root, 'args.json');
    // Stands in for the Electron binary (not downloadable here): records its arguments, exits 3.
    writeFileSync(
      join(install, 'r2c-workstation'),
      `#!/usr/bin/env node\nrequire('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.argv.slice(2)));\nprocess.exit(3);\n`,
      { mode: 0o755 },
    );
    copyFileSync(join(repoRoot, 'build/bin/r2c'), join(install, 'resources', 'bin', 'r2c'));
    chmodSync(join(install, 'resources', 'bin', 'r2c'), 0o755);
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    symlinkSync(join(install, 'resources', 'bin', 'r2c'), join(root, 'usr', 'bin', 'r2c'));

    const run = (env: Record<string, string>) => {
      const result = spawnSync(join(root, 'usr', 'bin', 'r2c'), ['import', '/data/a b.dcm', '--json'], {
        env: { PATH: process.env['PATH'] ?? '', ...env },
        encoding: 'utf8',
      });
      return { status: result.status, args: JSON.parse(readFileSync(record, 'utf8')) as string[] };
    };
    assert.deepEqual(run({ DISPLAY: ':0' }), {
      status: 3,
      args: ['--cli', 'import', '/data/a b.dcm', '--json'],
    });
    assert.deepEqual(run({}), {
      status: 3,
      args: ['--ozone-platform=headless', '--cli', 'import', '/data/a b.dcm', '--json'],
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the main process hands everything after --cli to the command line, before any window or lock', () => {
  assert.deepEqual(cliArguments(['/opt/R2C Workstation/r2c-workstation', '--cli', 'logs', '--limit', '5']), [
    'logs',
    '--limit',
    '5',
  ]);
  assert.deepEqual(cliArguments(['electron', '.', '--ozone-platform=headless', '--cli']), []);
  assert.equal(cliArguments(['/opt/R2C Workstation/r2c-workstation']), null);
  const shell = readFileSync(join(repoRoot, 'main/shell/main.ts'), 'utf8');
  const cliAt = shell.indexOf('if (cliArgs !== null)');
  assert.ok(cliAt > 0);
  for (const later of ['requestSingleInstanceLock()', 'new BrowserWindow(', 'registerSchemesAsPrivileged('])
    assert.ok(shell.indexOf(later) > cliAt, `${later} comes after the --cli branch`);
});
