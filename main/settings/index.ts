// Workstation settings: the admin's policy file, the data folder shared by the app and the CLI, the
// effective settings (and where each comes from), and the activity log.
export {
  type ActivityLog,
  type LogEntry,
  type LogLevel,
  type LogValue,
  logFileName,
  openActivityLog,
} from './log.ts';
export {
  type LoadedPolicy,
  loadPolicy,
  type Policy,
  policyLocation,
  policySchema,
  systemPolicyPath,
} from './policy.ts';
export {
  type EffectiveSettings,
  effectiveSettings,
  openSettings,
  platformDataDir,
  readUserSettings,
  registryOptions,
  resolveDataDir,
  resolveWorkstation,
  type Setting,
  type SettingSource,
  type SettingsStore,
  settingsFileName,
  type UserSettings,
  userSettingsSchema,
  type Workstation,
} from './settings.ts';
