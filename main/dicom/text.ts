// Decoding of DICOM text values per Specific Character Set (0008,0005), using the runtime's
// TextDecoder (full ICU in Node 20) rather than hand-written tables.
const singleByte: Record<string, string> = {
  '': 'latin1',
  ISO_IR_6: 'latin1',
  ISO_IR_100: 'latin1',
  ISO_IR_101: 'iso-8859-2',
  ISO_IR_109: 'iso-8859-3',
  ISO_IR_110: 'iso-8859-4',
  ISO_IR_144: 'iso-8859-5',
  ISO_IR_127: 'iso-8859-6',
  ISO_IR_126: 'iso-8859-7',
  ISO_IR_138: 'iso-8859-8',
  ISO_IR_148: 'windows-1254',
  ISO_IR_166: 'windows-874',
  ISO_IR_13: 'shift_jis',
  ISO_IR_192: 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

const iso2022: Record<string, string> = {
  ISO_2022_IR_87: 'iso-2022-jp',
  ISO_2022_IR_159: 'iso-2022-jp',
  ISO_2022_IR_149: 'euc-kr',
  ISO_2022_IR_58: 'gb2312',
};

import { TextDecoder } from 'node:util';

/** Removes ISO 2022 escape sequences: ESC, intermediate bytes 0x20-0x2F, one final byte. */
function stripEscapes(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x1b) {
      out.push(bytes[i]!);
      continue;
    }
    i += 1;
    while (i < bytes.length && bytes[i]! >= 0x20 && bytes[i]! <= 0x2f) i += 1;
  }
  return Uint8Array.from(out);
}

const decoders = new Map<string, TextDecoder>();
function decoder(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) {
    d = new TextDecoder(label);
    decoders.set(label, d);
  }
  return d;
}

export function decodeText(bytes: Uint8Array, specificCharacterSet: string | undefined): string {
  const terms = (specificCharacterSet ?? '').split('\\').map((t) => t.trim().replace(/ /g, '_'));
  const extension = terms.map((t) => iso2022[t]).find((label) => label !== undefined);
  try {
    if (extension === 'iso-2022-jp') return decoder('iso-2022-jp').decode(bytes);
    if (extension) {
      // ISO 2022 with a single G1 set (Korean, Chinese): drop the escape sequences; the rest is EUC.
      return decoder(extension).decode(stripEscapes(bytes));
    }
    const base = terms[0]?.replace(/^ISO_2022_/, 'ISO_') ?? '';
    return decoder(singleByte[base] ?? 'latin1').decode(bytes);
  } catch {
    return decoder('latin1').decode(bytes);
  }
}
