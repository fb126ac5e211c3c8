import { parseArgs } from 'node:util';
import { openSettings, resolveWorkstation, type Setting } from '../../settings/index.ts';
import { type CliCommand, parseUsage } from '../command.ts';

export const settingsCommand: CliCommand = {
  name: 'settings',
  summary:
    'Show the effective settings (data folder, policy file, model, retention) and where each comes from',
  usage: 'r2c settings [--json]\n  --json  the effective settings as JSON',
  async run(argv, io) {
    const { values } = parseUsage(() => parseArgs({ args: argv, options: { json: { type: 'boolean' } } }));
    const settings = openSettings(resolveWorkstation()).get();
    if (values.json) {
      io.out(JSON.stringify(settings));
      return 0;
    }
    const show = (name: string, s: Setting<unknown>) =>
      io.out(`${name.padEnd(22)} ${JSON.stringify(s.value)}  (${s.source})`);
    io.out(
      `${'policy file'.padEnd(22)} ${settings.policyFile.path}  (${settings.policyFile.present ? 'in force' : 'none'})`,
    );
    show('data folder', settings.dataDir);
    show('active model', settings.activeModel);
    show('fine-tuning allowed', settings.fineTuningAllowed);
    show('retention days', settings.retentionDays);
    show('require signed models', settings.requireSignedPackages);
    io.out(
      `${'trusted keys'.padEnd(22)} ${settings.trustedPublicKeys.value.length}  (${settings.trustedPublicKeys.source})`,
    );
    return 0;
  },
};
