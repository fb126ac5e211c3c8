// The data folder a CLI command works in, decided one way: `--library <dir>` where the admin's
// policy leaves it free, else THE data folder (policy, else $R2C_DATA_DIR, else the per-user folder).
import { resolve } from 'node:path';
import { resolveWorkstation } from '../settings/index.ts';
import { UsageError } from './command.ts';

/** `library`: the command's --library value. A folder other than the one the policy fixes is refused. */
export function commandDataDir(library: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const workstation = resolveWorkstation({ env });
  const fixed = workstation.dataDir.source === 'policy' ? workstation.dataDir.value : undefined;
  if (library === undefined) return workstation.dataDir.value;
  if (fixed !== undefined && resolve(library) !== resolve(fixed))
    throw new UsageError(
      `--library: the data folder is fixed by the policy file ${workstation.policy.location.path} (${fixed})`,
    );
  return resolve(library);
}
