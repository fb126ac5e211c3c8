// Display formatting for DICOM values. Pure functions; nothing here is logged.

/** DICOM Person Name (PN) "Family^Given^Middle^Prefix^Suffix" as "Family, Given Middle". */
export function formatPersonName(name: string | null | undefined, fallback = '—'): string {
  const alphabetic = (name ?? '').split('=')[0] ?? '';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = alphabetic
    .split('^')
    .map((part) => part.trim());
  const rest = [prefix, given, middle, suffix].filter((part) => part.length > 0).join(' ');
  if (family && rest) return `${family}, ${rest}`;
  return family || rest || fallback;
}

// One date format everywhere on screen: the system locale's (exports keep ISO 8601). The time zone
// is UTC for dates alone, so a DICOM date never shifts a day.
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * A date in the system locale's format: DICOM DA "YYYYMMDD", or an ISO date ("YYYY-MM-DD", as the
 * library's date filters and timestamps carry). Anything else is shown as stored.
 */
export function formatDate(date: string | null | undefined): string {
  if (!date) return '—';
  const match = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(date);
  if (!match) return date;
  const value = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return Number.isNaN(value.getTime()) ? date : dateFormat.format(value);
}

/** An ISO timestamp (e.g. when an analysis was made) as local date and time in the system locale. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const value = new Date(iso);
  return Number.isNaN(value.getTime()) ? iso : dateTimeFormat.format(value);
}

/** DICOM TM "HHMMSS.FFFFFF" (any precision) as "HH:MM" or "HH:MM:SS"; anything else as stored. */
export function formatTime(time: string | null | undefined): string {
  if (!time) return '—';
  const match = /^(\d{2})(\d{2})?(\d{2})?/.exec(time.trim());
  if (!match) return time;
  return [match[1], match[2] ?? '00', match[3]].filter(Boolean).join(':');
}

const statusLabels: Record<string, string> = {
  not_processed: 'Not processed',
  restored: 'Restored',
  classified: 'Classified',
};

export function formatStatus(status: string): string {
  return statusLabels[status] ?? status;
}

/** The lines of a text box as a path list: trimmed, blank lines dropped. */
export function pathLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** A probability (0..1) as a percentage with one decimal, e.g. "73.2%". */
export function formatPercent(probability: number): string {
  return `${(probability * 100).toFixed(1)}%`;
}

/** The classifier's label as decision-support wording (it suggests; it does not diagnose). */
export function formatClassLabel(label: 'covid' | 'normal'): string {
  return label === 'covid' ? 'Suggests COVID-19' : 'Suggests no COVID-19';
}

/** Whether a typed path is absolute (POSIX, drive letter or UNC), as the contract requires for paths. */
export function isAbsolutePath(path: string): boolean {
  return /^(?:\/|[A-Za-z]:[\\/]|\\\\)/.test(path.trim());
}
