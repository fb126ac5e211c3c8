// The policy file, the one data folder of the app and the CLI, and the effective settings.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dataDir as appDataDir, localModelsDir } from '../../../main/app/paths.ts';
import { defaultDataDir } from '../../../main/library/index.ts';
import {
  loadPolicy,
  openSettings,
  platformDataDir,
  policyLocation,
  registryOptions,
  resolveDataDir,
  resolveWorkstation,
  systemPolicyPath,
} from '../../../main/settings/index.ts';
import { repoRoot } from '../../helpers/paths.ts';

function temp() {
  const path = mkdtempSync(join(tmpdir(), 'r2c-policy-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

function policyFile(dir: string, policy: unknown): string {
  const path = join(dir, 'policy.json');
  writeFileSync(path, typeof policy === 'string' ? policy : JSON.stringify(policy));
  return path;
}

test('the policy file lives where each platform keeps machine-wide settings', () => {
  assert.equal(systemPolicyPath('linux', {}), '/etc/r2c-workstation/policy.json');
  assert.equal(systemPolicyPath('darwin', {}), '/Library/Application Support/R2C Workstation/policy.json');
  assert.equal(
    systemPolicyPath('win32', { ProgramData: 'D:\\ProgramData' }),
    'D:\\ProgramData\\R2C Workstation\\policy.json',
  );
  assert.equal(systemPolicyPath('win32', {}), 'C:\\ProgramData\\R2C Workstation\\policy.json');
});

test('$R2C_POLICY_FILE is honoured only when no system policy exists (a user cannot escape one)', () => {
  const env = { R2C_POLICY_FILE: '/tmp/mine.json' };
  assert.deepEqual(
    policyLocation(env, 'linux', () => false),
    { path: '/tmp/mine.json', origin: 'environment' },
  );
  assert.deepEqual(
    policyLocation(env, 'linux', (p) => p === '/etc/r2c-workstation/policy.json'),
    {
      path: '/etc/r2c-workstation/policy.json',
      origin: 'system',
    },
  );
});

test('a policy is read and checked; a bad one is refused with the file and the key named', () => {
  const dir = temp();
  try {
    const env = (policy: unknown) => ({ R2C_POLICY_FILE: policyFile(dir.path, policy) });
    const missing = loadPolicy({ R2C_POLICY_FILE: join(dir.path, 'none.json') }, 'linux');
    assert.deepEqual([missing.present, missing.policy], [false, {}]);
    const full = {
      dataDir: '/srv/r2c',
      activeModel: 'r2c-q3',
      fineTuningAllowed: false,
      retentionDays: 90,
      requireSignedPackages: true,
      trustedPublicKeys: ['-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----'],
    };
    const loaded = loadPolicy(env(full), 'linux');
    assert.equal(loaded.present, true);
    assert.deepEqual(loaded.policy, full);
    assert.deepEqual(loadPolicy(env(`\uFEFF${JSON.stringify({ retentionDays: null })}`), 'linux').policy, {
      retentionDays: null,
    });
    assert.throws(() => loadPolicy(env('{ "dataDir": '), 'linux'), {
      code: 'bad_input',
      message: /policy\.json is not valid JSON/,
    });
    assert.throws(() => loadPolicy(env({ retentionDay: 30 }), 'linux'), {
      code: 'bad_input',
      message: /policy\.json is not valid: .*retentionDay/,
    });
    assert.throws(() => loadPolicy(env({ retentionDays: 0 }), 'linux'), { code: 'bad_input' });
    assert.throws(() => loadPolicy(env({ fineTuningAllowed: 'no' }), 'linux'), {
      message: /fineTuningAllowed/,
    });
    assert.throws(() => loadPolicy(env({ dataDir: 'relative/dir' }), 'linux'), {
      message: /dataDir must be an absolute path/,
    });
  } finally {
    dir.remove();
  }
});

test('the data folder: policy, else $R2C_DATA_DIR, else the platform folder', () => {
  const dir = temp();
  try {
    const noPolicy = { R2C_POLICY_FILE: join(dir.path, 'none.json') };
    assert.deepEqual(resolveDataDir({ env: noPolicy, platform: 'linux', home: '/home/u' }), {
      value: '/home/u/.local/share/r2c-workstation',
      source: 'default',
    });
    assert.equal(platformDataDir({ XDG_DATA_HOME: '/xdg' }, 'linux', '/home/u'), '/xdg/r2c-workstation');
    assert.equal(
      platformDataDir({}, 'darwin', '/Users/u'),
      '/Users/u/Library/Application Support/R2C Workstation',
    );
    assert.equal(
      platformDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u'),
      'C:\\Users\\u\\AppData\\Roaming\\R2C Workstation',
    );
    assert.deepEqual(
      resolveDataDir({ env: { ...noPolicy, R2C_DATA_DIR: '/data/mine' }, platform: 'linux' }),
      {
        value: '/data/mine',
        source: 'environment',
      },
    );
    const env = {
      R2C_POLICY_FILE: policyFile(dir.path, { dataDir: '/srv/r2c' }),
      R2C_DATA_DIR: '/data/mine',
    };
    assert.deepEqual(resolveDataDir({ env, platform: 'linux' }), { value: '/srv/r2c', source: 'policy' });
    // Every caller of the old default goes through the same resolution.
    assert.equal(defaultDataDir(env, 'linux', '/home/u'), '/srv/r2c');
    assert.equal(appDataDir(env), '/srv/r2c');
    assert.equal(localModelsDir(appDataDir(env)), '/srv/r2c/models');
  } finally {
    dir.remove();
  }
});

/** What `r2c settings --json` (the CLI, a child process) says about the data folder. */
function cliSettings(env: Record<string, string>) {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/r2c.js'), 'settings', '--json'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as { dataDir: { value: string; source: string } };
}

test('the app and the CLI resolve the same data folder, and the policy file wins over the environment', () => {
  const dir = temp();
  try {
    const policyData = join(dir.path, 'policy-data');
    const envData = join(dir.path, 'env-data');
    const cases: Record<string, string>[] = [
      { R2C_POLICY_FILE: join(dir.path, 'none.json'), R2C_DATA_DIR: envData },
      { R2C_POLICY_FILE: policyFile(dir.path, { dataDir: policyData }), R2C_DATA_DIR: envData },
      { R2C_POLICY_FILE: join(dir.path, 'none.json'), XDG_DATA_HOME: join(dir.path, 'xdg') },
    ];
    const expected = [
      { value: envData, source: 'environment' },
      { value: policyData, source: 'policy' },
      { value: join(dir.path, 'xdg', 'r2c-workstation'), source: 'default' },
    ];
    cases.forEach((env, i) => {
      // The shell calls resolveWorkstation() and hands dataDir.value to createServices and Electron.
      const app = resolveWorkstation({ env, platform: 'linux' }).dataDir;
      assert.deepEqual(app, expected[i]);
      assert.deepEqual(cliSettings(env).dataDir, expected[i], 'the CLI agrees with the app');
    });
    const shell = readFileSync(join(repoRoot, 'main/shell/main.ts'), 'utf8');
    assert.match(shell, /resolveWorkstation\(\)/, 'the shell resolves the data folder like the CLI');
    assert.match(shell, /dataDir: workstation\.dataDir\.value/);
    assert.match(shell, /app\.setPath\('userData', electronDir \?\? workstation\.dataDir\.value\)/);
    assert.match(
      shell,
      /electronDir = workstation\.dataDir\.source === 'policy' \? platformDataDir\(\) : workstation\.dataDir\.value/,
      "Electron's folder is the data folder, per user when the policy shares one folder",
    );
    assert.doesNotMatch(shell, /getPath\('userData'\)/, "the shell does not use Electron's own folder");

    // An import by the CLI lands in the folder the policy names.
    const source = join(dir.path, 'in.dcm');
    writeFileSync(
      source,
      readFileSync(join(repoRoot, '..', 'shared', 'data', 'dicom', 'dicom-test-files', 'CT_small.dcm')),
    );
    const imported = spawnSync(process.execPath, [join(repoRoot, 'bin/r2c.js'), 'import', source, '--json'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...cases[1] },
      encoding: 'utf8',
    });
    assert.equal(imported.status, 0, imported.stderr);
    assert.equal(JSON.parse(imported.stdout).library, policyData);
    // ... and nowhere else: --library cannot open a second library beside the policy's.
    const elsewhere = spawnSync(
      process.execPath,
      [join(repoRoot, 'bin/r2c.js'), 'import', source, '--library', join(dir.path, 'other')],
      {
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...cases[1] },
        encoding: 'utf8',
      },
    );
    assert.equal(elsewhere.status, 2);
    assert.match(elsewhere.stderr, /data folder is fixed by the policy file/);
  } finally {
    dir.remove();
  }
});

test('effective settings: policy over the user, users change only what the policy leaves open', async () => {
  const dir = temp();
  try {
    const data = join(dir.path, 'data');
    mkdirSync(data);
    const env = {
      R2C_POLICY_FILE: policyFile(dir.path, { fineTuningAllowed: false, requireSignedPackages: true }),
      R2C_DATA_DIR: data,
    };
    const store = openSettings(resolveWorkstation({ env, platform: 'linux' }));
    const initial = store.get();
    assert.deepEqual(initial.fineTuningAllowed, { value: false, source: 'policy' });
    assert.deepEqual(initial.retentionDays, { value: null, source: 'default' });
    assert.deepEqual(initial.activeModel, { value: null, source: 'default' });
    assert.deepEqual(initial.requireSignedPackages, { value: true, source: 'policy' });
    assert.deepEqual(initial.policyFile, { path: env.R2C_POLICY_FILE, origin: 'environment', present: true });

    const changed = await store.update({ retentionDays: 30 });
    assert.deepEqual(changed.retentionDays, { value: 30, source: 'user' });
    assert.deepEqual(JSON.parse(readFileSync(join(data, 'settings.json'), 'utf8')), { retentionDays: 30 });
    // The active model is chosen on the Models page (registry), not here; only the policy pins it.
    await assert.rejects(store.update({ activeModel: 'r2c-q3' } as never), { code: 'bad_input' });
    await assert.rejects(store.update({ fineTuningAllowed: true } as never), { code: 'bad_input' });
    const fixedEnv = { ...env, R2C_POLICY_FILE: policyFile(dir.path, { retentionDays: 365 }) };
    const fixed = openSettings(resolveWorkstation({ env: fixedEnv, platform: 'linux' }));
    assert.deepEqual(
      fixed.get().retentionDays,
      { value: 365, source: 'policy' },
      'the policy wins over the user',
    );
    await assert.rejects(fixed.update({ retentionDays: 7 }), {
      code: 'forbidden',
      message: /retentionDays is set by the administrator's policy/,
    });
    await assert.rejects(store.update({ retentionDays: -1 }), { code: 'bad_input' });
    const cleared = await store.update({ retentionDays: null });
    assert.deepEqual(cleared.retentionDays, { value: null, source: 'default' });
    assert.deepEqual(registryOptions(cleared), {
      requireSignedPackages: true,
      trustedPublicKeys: [],
      pinnedActiveModel: undefined,
      fineTuningAllowed: false,
    });

    // The policy fixing the model pins it for the registry and overrides the user's choice.
    const pinnedEnv = { ...env, R2C_POLICY_FILE: policyFile(dir.path, { activeModel: 'r2c-q3-reference' }) };
    const pinned = openSettings(resolveWorkstation({ env: pinnedEnv, platform: 'linux' })).get();
    assert.deepEqual(pinned.activeModel, { value: 'r2c-q3-reference', source: 'policy' });
    assert.equal(registryOptions(pinned).pinnedActiveModel, 'r2c-q3-reference');

    writeFileSync(join(data, 'settings.json'), '{ nope');
    assert.throws(() => store.get(), { code: 'integrity', message: /settings\.json is not valid JSON/ });
  } finally {
    dir.remove();
  }
});

test('r2c train is refused when the policy switches fine-tuning off', () => {
  const dir = temp();
  try {
    const env = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      R2C_POLICY_FILE: policyFile(dir.path, { fineTuningAllowed: false }),
      R2C_DATA_DIR: join(dir.path, 'data'),
    };
    const result = spawnSync(
      process.execPath,
      [
        join(repoRoot, 'bin/r2c.js'),
        'train',
        '--data',
        join(dir.path, 'none.csv'),
        '--out',
        join(dir.path, 'run'),
      ],
      { env, encoding: 'utf8' },
    );
    assert.equal(result.status, 1);
    assert.match(result.stderr, /switched off by the policy file .*policy\.json/);
  } finally {
    dir.remove();
  }
});
