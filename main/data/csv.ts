import { AppError } from '../util/errors.ts';

/**
 * RFC 4180 CSV parser: quoted fields, commas, doubled quotes and line breaks inside quotes, CRLF or
 * LF line ends, optional UTF-8 BOM. Own code because no CSV package is installed and manifests only
 * need this small, fully specified subset. A quote inside an unquoted field is kept as a literal.
 */
export function parseCsv(text: string, what = 'CSV'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let quoted = false; // inside a quoted field
  let fieldStarted = false; // current field has content or was quoted (distinguishes "" from no field)
  let quoteStartLine = 0;
  const endField = () => {
    row.push(field);
    field = '';
    fieldStarted = false;
  };
  const endRow = () => {
    endField();
    rows.push(row);
    row = [];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const after = text[i];
        if (after !== undefined && after !== ',' && after !== '\n' && after !== '\r') {
          throw new AppError('bad_input', `${what}: line ${line}: unexpected character after closing quote`);
        }
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === ',') {
      endField();
      i++;
    } else if (c === '\n' || c === '\r') {
      endRow();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    } else if (c === '"' && !fieldStarted && field === '') {
      quoted = true;
      fieldStarted = true;
      quoteStartLine = line;
      i++;
    } else {
      field += c;
      fieldStarted = true;
      i++;
    }
  }
  if (quoted)
    throw new AppError('bad_input', `${what}: quoted field opened on line ${quoteStartLine} never closes`);
  // A final line without a line break still counts; a trailing line break adds no empty row.
  if (fieldStarted || field !== '' || row.length > 0) endRow();
  return rows;
}

/** Parses a CSV with a header row into records keyed by column name. Every row must have the header's width. */
export function parseCsvRecords(
  text: string,
  what = 'CSV',
): { columns: string[]; records: Record<string, string>[] } {
  const rows = parseCsv(text, what).filter((row) => !(row.length === 1 && row[0] === ''));
  const header = rows[0];
  if (!header) throw new AppError('bad_input', `${what}: no header row`);
  const columns = header.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name))
      throw new AppError('bad_input', `${what}: column "${name}" appears twice in the header`);
    seen.add(name);
  }
  const records = rows.slice(1).map((row, index) => {
    if (row.length !== columns.length) {
      throw new AppError(
        'bad_input',
        `${what}: data row ${index + 1} has ${row.length} fields, the header has ${columns.length}`,
      );
    }
    const record: Record<string, string> = {};
    columns.forEach((name, column) => {
      record[name] = row[column]!;
    });
    return record;
  });
  return { columns, records };
}
