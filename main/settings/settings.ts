// Effective settings: each value with where it comes from. Order: the admin's policy file, then the
// environment (the data folder only), then the user's settings (<dataDir>/settings.json), then defaults.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, posix, resolve, win32 } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { AppError } from '../util/errors.ts';
import { type LoadedPolicy, loadPolicy, type Policy } from './policy.ts';

export type SettingSource = 'policy' | 'environment' | 'user' | 'default';

export interface Setting<T> {
  value: T;
  source: SettingSource;
}

const appFolderName = 'R2C Workstation';

/** The platform's usual per-user place for application data (no overrides). */
export function platformDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'win32')
    return win32.join(env['APPDATA'] || win32.join(home, 'AppData', 'Roaming'), appFolderName);
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', appFolderName);
  // Linux and other Unixes: XDG base directory spec.
  return posix.join(env['XDG_DATA_HOME'] || posix.join(home, '.local', 'share'), 'r2c-workstation');
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
  /** An already loaded policy (else it is read from its location). */
  policy?: LoadedPolicy;
}

/**
 * THE data folder, the same for the app and the CLI: the policy's dataDir, else $R2C_DATA_DIR, else
 * the platform's per-user folder.
 */
export function resolveDataDir(options: ResolveOptions = {}): Setting<string> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const policy = options.policy ?? loadPolicy(env, platform);
  if (policy.policy.dataDir) return { value: policy.policy.dataDir, source: 'policy' };
  const override = env['R2C_DATA_DIR'];
  if (override) return { value: override, source: 'environment' };
  return { value: platformDataDir(env, platform, options.home ?? homedir()), source: 'default' };
}

/**
 * What a user may set for themselves (stored in <dataDir>/settings.json). The active model is not
 * among them: users choose it on the Models page (the model registry); only the policy pins it, and
 * only the policy switches fine-tuning off.
 */
export const userSettingsSchema = z
  .object({
    retentionDays: z.number().int().min(1).max(36500).nullable().optional(),
  })
  .strict();
export type UserSettings = z.infer<typeof userSettingsSchema>;
export const userSettingKeys = ['retentionDays'] as const;
export type UserSettingKey = (typeof userSettingKeys)[number];

export interface EffectiveSettings {
  policyFile: { path: string; origin: 'system' | 'environment'; present: boolean };
  dataDir: Setting<string>;
  /** The model the policy pins; null: the one activated on the Models page (the model registry). */
  activeModel: Setting<string | null>;
  fineTuningAllowed: Setting<boolean>;
  /** Days after import when imported copies and their results are removed; null: kept until deleted. */
  retentionDays: Setting<number | null>;
  requireSignedPackages: Setting<boolean>;
  trustedPublicKeys: Setting<string[]>;
}

export const settingsFileName = 'settings.json';

export function readUserSettings(dataDir: string): UserSettings {
  const path = join(dataDir, settingsFileName);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new AppError('integrity', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('integrity', `${path} is not valid JSON; fix or delete it`);
  }
  const parsed = userSettingsSchema.safeParse(json);
  if (!parsed.success)
    throw new AppError(
      'integrity',
      `${path} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

function pick<T>(policyValue: T | undefined, userValue: T | undefined, fallback: T): Setting<T> {
  if (policyValue !== undefined) return { value: policyValue, source: 'policy' };
  if (userValue !== undefined) return { value: userValue, source: 'user' };
  return { value: fallback, source: 'default' };
}

export function effectiveSettings(
  loaded: LoadedPolicy,
  dataDir: Setting<string>,
  user: UserSettings,
): EffectiveSettings {
  const policy: Policy = loaded.policy;
  return {
    policyFile: { ...loaded.location, present: loaded.present },
    dataDir,
    activeModel: pick<string | null>(policy.activeModel, undefined, null),
    fineTuningAllowed: pick(policy.fineTuningAllowed, undefined, true),
    retentionDays: pick<number | null>(policy.retentionDays, user.retentionDays, null),
    requireSignedPackages: pick(policy.requireSignedPackages, undefined, false),
    trustedPublicKeys: pick<string[]>(policy.trustedPublicKeys, undefined, []),
  };
}

/** The options the model registry takes from the settings. */
export function registryOptions(settings: EffectiveSettings) {
  return {
    requireSignedPackages: settings.requireSignedPackages.value,
    trustedPublicKeys: settings.trustedPublicKeys.value,
    pinnedActiveModel:
      settings.activeModel.source === 'policy' ? (settings.activeModel.value ?? undefined) : undefined,
    fineTuningAllowed: settings.fineTuningAllowed.value,
  };
}

export interface SettingsStore {
  readonly dataDir: string;
  /** Reads the user's file again on every call (the CLI may have changed it). */
  get(): EffectiveSettings;
  /** Changes the user's own settings; a value fixed by policy is refused (forbidden). null/undefined clears. */
  update(changes: UserSettings): Promise<EffectiveSettings>;
}

export interface Workstation {
  policy: LoadedPolicy;
  dataDir: Setting<string>;
}

/** The policy and the data folder, resolved once at start-up by the app and by the CLI. */
export function resolveWorkstation(options: ResolveOptions = {}): Workstation {
  const policy =
    options.policy ?? loadPolicy(options.env ?? process.env, options.platform ?? process.platform);
  const dataDir = resolveDataDir({ ...options, policy });
  return { policy, dataDir: { value: resolve(dataDir.value), source: dataDir.source } };
}

export function openSettings(workstation: Workstation): SettingsStore {
  const dataDir = workstation.dataDir.value;
  const path = join(dataDir, settingsFileName);
  const get = () => effectiveSettings(workstation.policy, workstation.dataDir, readUserSettings(dataDir));
  return {
    dataDir,
    get,
    async update(changes) {
      const parsed = userSettingsSchema.safeParse(changes);
      if (!parsed.success)
        throw new AppError(
          'bad_input',
          `settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      const fixed = userSettingKeys.filter(
        (key) => key in parsed.data && workstation.policy.policy[key] !== undefined,
      );
      if (fixed.length > 0)
        throw new AppError(
          'forbidden',
          `${fixed.join(', ')} ${fixed.length > 1 ? 'are' : 'is'} set by the administrator's policy (${workstation.policy.location.path})`,
        );
      const next: UserSettings = { ...readUserSettings(dataDir) };
      for (const key of userSettingKeys) {
        if (!(key in parsed.data)) continue;
        const value = parsed.data[key];
        if (value === undefined || value === null) delete next[key];
        else (next as Record<string, unknown>)[key] = value;
      }
      await writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`);
      return get();
    },
  };
}
