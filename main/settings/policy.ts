// The administrator's policy file: a machine-wide JSON file only an admin can write. What it sets
// wins over the environment and the user's own settings, on the app and the CLI alike.
import { existsSync, readFileSync } from 'node:fs';
import { posix, win32 } from 'node:path';
import { z } from 'zod';
import { AppError } from '../util/errors.ts';

/** Every key is optional: a policy fixes only what it names. Unknown keys are refused (a typo must not pass silently). */
export const policySchema = z
  .object({
    /** The data folder of every user on this machine (library, results, models, logs). */
    dataDir: z.string().trim().min(1).optional(),
    /** Model id the app and CLI use by default; users cannot change it. */
    activeModel: z.string().trim().min(1).max(200).optional(),
    /** Whether fine-tuning on this workstation is allowed. */
    fineTuningAllowed: z.boolean().optional(),
    /** Days after import when imported copies and their results are removed; null turns retention off for good. */
    retentionDays: z.number().int().min(1).max(36500).nullable().optional(),
    /** Only model packages signed by one of trustedPublicKeys may be installed. */
    requireSignedPackages: z.boolean().optional(),
    /** Ed25519 public keys (PEM or base64 SPKI) trusted to sign model packages (model registry). */
    trustedPublicKeys: z.array(z.string().trim().min(1)).max(100).optional(),
  })
  .strict();
export type Policy = z.infer<typeof policySchema>;

/** Where the platform keeps the machine-wide policy file. */
export function systemPolicyPath(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (platform === 'win32')
    return win32.join(
      env['ProgramData'] || env['PROGRAMDATA'] || 'C:\\ProgramData',
      'R2C Workstation',
      'policy.json',
    );
  if (platform === 'darwin') return '/Library/Application Support/R2C Workstation/policy.json';
  return '/etc/r2c-workstation/policy.json';
}

export interface PolicyLocation {
  path: string;
  /** 'system': the platform's location; 'environment': $R2C_POLICY_FILE (only when no system file exists). */
  origin: 'system' | 'environment';
}

/**
 * The policy file in force. `$R2C_POLICY_FILE` (tests, a trial set-up) is honoured only when the
 * platform's policy file does not exist, so a user cannot escape an installed policy with it.
 */
export function policyLocation(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  exists: (path: string) => boolean = existsSync,
): PolicyLocation {
  const system = systemPolicyPath(platform, env);
  const override = env['R2C_POLICY_FILE'];
  if (override && !exists(system)) return { path: override, origin: 'environment' };
  return { path: system, origin: 'system' };
}

export interface LoadedPolicy {
  location: PolicyLocation;
  /** Whether the file exists (no file: an empty policy). */
  present: boolean;
  policy: Policy;
}

/** Reads and checks the policy file; a malformed one is an error (the app must not run without the admin's rules). */
export function loadPolicy(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): LoadedPolicy {
  const location = policyLocation(env, platform);
  let text: string;
  try {
    text = readFileSync(location.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { location, present: false, policy: {} };
    throw new AppError('integrity', `cannot read the policy file ${location.path}: ${code ?? error}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new AppError(
      'bad_input',
      `the policy file ${location.path} is not valid JSON: ${error instanceof Error ? error.message : error}`,
    );
  }
  const parsed = policySchema.safeParse(json);
  if (!parsed.success)
    throw new AppError(
      'bad_input',
      `the policy file ${location.path} is not valid: ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`)
        .join('; ')}`,
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  const policy = parsed.data;
  if (policy.dataDir !== undefined && !(platform === 'win32' ? win32 : posix).isAbsolute(policy.dataDir))
    throw new AppError('bad_input', `the policy file ${location.path}: dataDir must be an absolute path`);
  return { location, present: true, policy };
}
