import { AppError } from '../util/errors.ts';
import type { AnalysedQuestionKind, AnalysisMeta, RatingRow } from './analysis.ts';

/**
 * MRMC long format: one row per rating, header
 *
 *   reader,case,variant,truth,rating,question
 *
 * - reader: the reader's name; case: the reading case (the image's library id, suffixed `#<n>` with the
 *   1-based comparison number when a study shows the same image in more than one comparison);
 * - variant: the image variant rated (empty only for a categorical question asked once per case);
 * - truth: the image's reference standard if the study has one, else empty;
 * - rating: a score (e.g. 1–5), a category (e.g. yes/no/unsure), or for a forced choice two rows per
 *   judgement, 1 for the chosen variant and 0 for the other;
 * - question: which question the rating answers (optional: without it every row is one score question
 *   named "rating", the classic single-question MRMC file).
 * RFC 4180 quoting; UTF-8; extra columns are ignored. Free-text comments are not ratings and are only
 * in the JSON export.
 */
export const csvColumns = ['reader', 'case', 'variant', 'truth', 'rating', 'question'] as const;

function quote(field: string): string {
  return /[",\r\n]/.test(field) || field !== field.trim() ? `"${field.replaceAll('"', '""')}"` : field;
}

export function formatRatingsCsv(rows: readonly RatingRow[]): string {
  const lines = [csvColumns.join(',')];
  for (const row of rows) lines.push(csvColumns.map((c) => quote(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

interface CsvRecord {
  line: number;
  fields: string[];
}

function malformed(problems: { line: number; message: string }[]): AppError {
  const shown = problems.slice(0, 10);
  const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more problems` : '';
  return new AppError(
    'bad_input',
    `malformed ratings CSV: ${shown.map((p) => `line ${p.line}: ${p.message}`).join('; ')}${more}`,
    problems.map((p) => ({ path: `line ${p.line}`, message: p.message })),
  );
}

/** RFC 4180 records with the 1-based line each starts on. Own code: no CSV package is installed. */
export function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw malformed([{ line: start, message: 'quoted field is not closed' }]);
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n') line++;
          field += ch;
          i++;
        }
        if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r')
          throw malformed([{ line, message: 'unexpected character after a closing quote' }]);
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
      }
      fields.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: start, fields });
  }
  return records;
}

export interface ParsedRatings {
  rows: RatingRow[];
  meta: AnalysisMeta;
}

const knownKinds: Record<string, AnalysedQuestionKind> = {
  quality: 'score',
  preference: 'forced-choice',
  findings: 'choice',
  rating: 'score',
};

/**
 * Parses and checks an MRMC long-format CSV. Question kinds: `quality`/`rating` are scores,
 * `preference` a forced choice, `findings` categorical; any other question is a forced choice when
 * every reader/case has exactly two rows rated 0 and 1, a score when all ratings are numbers, else
 * categorical. `originalVariant` names the unprocessed variant for "restored over original".
 */
export function parseRatingsCsv(text: string, options: { originalVariant?: string } = {}): ParsedRatings {
  const records = parseCsvRecords(text);
  const header = records.shift();
  if (!header) throw malformed([{ line: 1, message: 'the file is empty (expected a header row)' }]);
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const column = (name: string) => names.indexOf(name);
  const missing = ['reader', 'case', 'variant', 'rating'].filter((n) => column(n) < 0);
  if (missing.length > 0)
    throw malformed([
      {
        line: header.line,
        message: `header lacks column(s) ${missing.join(', ')} (need reader,case,variant,rating)`,
      },
    ]);
  for (const name of csvColumns) {
    if (names.filter((n) => n === name).length > 1)
      throw malformed([{ line: header.line, message: `column '${name}' appears more than once` }]);
  }
  const problems: { line: number; message: string }[] = [];
  const rows: (RatingRow & { line: number })[] = [];
  const seen = new Map<string, number>();
  for (const record of records) {
    if (record.fields.length !== names.length) {
      problems.push({
        line: record.line,
        message: `expected ${names.length} fields, found ${record.fields.length}`,
      });
      continue;
    }
    const get = (name: string) => {
      const index = column(name);
      return index < 0 ? '' : record.fields[index]!.trim();
    };
    const row = {
      reader: get('reader'),
      case: get('case'),
      variant: get('variant'),
      truth: get('truth'),
      rating: get('rating'),
      question: column('question') < 0 ? 'rating' : get('question'),
      line: record.line,
    };
    const empty = (['reader', 'case', 'rating', 'question'] as const).filter((k) => row[k] === '');
    if (empty.length > 0) {
      problems.push({ line: record.line, message: `empty ${empty.join(', ')}` });
      continue;
    }
    const key = [row.reader, row.case, row.variant, row.question].join('\u0000');
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push({
        line: record.line,
        message: `second rating for the same reader, case, variant and question (first on line ${earlier})`,
      });
      continue;
    }
    seen.set(key, record.line);
    rows.push(row);
  }
  if (problems.length > 0) throw malformed(problems);
  if (rows.length === 0) throw malformed([{ line: header.line, message: 'no ratings after the header' }]);

  const questions: AnalysisMeta['questions'] = [];
  const byQuestion = new Map<string, typeof rows>();
  for (const row of rows) {
    const list = byQuestion.get(row.question) ?? [];
    list.push(row);
    byQuestion.set(row.question, list);
  }
  for (const [id, questionRows] of byQuestion) {
    const judgements = new Map<string, typeof rows>();
    for (const row of questionRows) {
      const key = `${row.reader}\u0000${row.case}`;
      const list = judgements.get(key) ?? [];
      list.push(row);
      judgements.set(key, list);
    }
    const isPair = (list: typeof rows) =>
      list.length === 2 && [list[0]!.rating, list[1]!.rating].sort().join() === '0,1';
    const numeric = (row: RatingRow) => row.rating !== '' && Number.isFinite(Number(row.rating));
    const kind =
      knownKinds[id] ??
      ([...judgements.values()].every(isPair)
        ? 'forced-choice'
        : questionRows.every(numeric)
          ? 'score'
          : 'choice');
    if (kind === 'score') {
      for (const row of questionRows) {
        if (!numeric(row))
          problems.push({
            line: row.line,
            message: `rating '${row.rating}' of score question '${id}' is not a number`,
          });
        else if (row.variant === '')
          problems.push({ line: row.line, message: `score question '${id}' needs a variant` });
      }
    } else if (kind === 'forced-choice') {
      for (const list of judgements.values()) {
        if (!isPair(list) || list.some((r) => r.variant === ''))
          problems.push({
            line: list[0]!.line,
            message: `forced-choice question '${id}' needs exactly two rows per reader and case (lines ${list.map((r) => r.line).join(', ')}), two different variants, one rated 1 and the other 0`,
          });
      }
    }
    questions.push({ id, kind, prompt: id });
  }
  if (problems.length > 0) throw malformed(problems.sort((a, b) => a.line - b.line));
  const original = options.originalVariant ?? 'original';
  const variantIds = [...new Set(rows.map((r) => r.variant).filter((v) => v !== ''))];
  variantIds.sort((a, b) => (a === original ? -1 : b === original ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const variants: AnalysisMeta['variants'] = variantIds.map((v) => ({
    id: v,
    label: v,
    kind: v === original ? 'original' : 'restored',
  }));
  return { rows: rows.map(({ line: _line, ...row }) => row), meta: { questions, variants } };
}
