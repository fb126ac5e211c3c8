// 12-bit sequential DCT JPEG (ISO 10918-1 extended process 2/4, single component) — written here
// because none of the installed decoders handles it: the @cornerstonejs libjpeg-turbo build is
// 8-bit only and jpeg-lossless-decoder-js does lossless only, yet 12-bit "JPEG Extended" is common in
// CR/CT archives. The inverse DCT is IJG's integer "islow" algorithm (jidctint.c, PASS1_BITS = 1 for
// 12-bit samples), the same one dcmtk uses, so results match dcmtk. Every read is bounds-checked.
import { badInput } from './parse.ts';

export interface Jpeg12Output {
  width: number;
  height: number;
  /** Samples, row-major. */
  data: Uint16Array;
}

interface Huffman {
  /** Code -> value lookup by (length, code): maxcode/valptr tables per ITU T.81 F.2.2.3. */
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

function fail(what: string): never {
  throw badInput(`12-bit JPEG: ${what}`);
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1]!;
    if (n > 0) {
      valptr[l] = k;
      mincode[l] = code;
      code += n;
      k += n;
      maxcode[l] = code - 1;
    }
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { maxcode, valptr, mincode, values };
}

class BitReader {
  private bits = 0;
  private count = 0;
  /** Set when a marker is hit inside entropy-coded data; further reads return zero bits. */
  marker = -1;
  constructor(
    private readonly data: Uint8Array,
    public pos: number,
  ) {}

  private fill(): void {
    while (this.count <= 24) {
      let byte = 0;
      if (this.marker < 0 && this.pos < this.data.length) {
        byte = this.data[this.pos]!;
        if (byte === 0xff) {
          const next = this.data[this.pos + 1] ?? 0xd9;
          if (next === 0x00) this.pos += 2;
          else {
            this.marker = next;
            byte = 0;
          }
        } else this.pos += 1;
      } else if (this.marker < 0) {
        this.marker = 0xd9; // ran off the end: treat as EOI, the caller checks progress
        this.ranOff = true;
      }
      this.bits = (this.bits << 8) | byte;
      this.count += 8;
    }
  }

  read(n: number): number {
    if (n === 0) return 0;
    if (this.count < n) this.fill();
    this.count -= n;
    return (this.bits >>> this.count) & ((1 << n) - 1);
  }

  decode(table: Huffman): number {
    let code = this.read(1);
    let l = 1;
    while (code > table.maxcode[l]!) {
      code = (code << 1) | this.read(1);
      l += 1;
      if (l > 16) fail('invalid Huffman code');
    }
    const value = table.values[table.valptr[l]! + code - table.mincode[l]!];
    if (value === undefined) fail('Huffman table overrun');
    return value;
  }

  /** Set when the data ended without a marker; reads then return zero bits. */
  ranOff = false;

  /** Resynchronise after a restart marker. */
  restart(): void {
    this.bits = 0;
    this.count = 0;
    if (this.marker >= 0xd0 && this.marker <= 0xd7) {
      this.marker = -1;
      this.pos += 2;
      return;
    }
    // Marker not yet seen: skip to it.
    while (
      this.pos + 1 < this.data.length &&
      !(this.data[this.pos] === 0xff && this.data[this.pos + 1]! >= 0xd0 && this.data[this.pos + 1]! <= 0xd7)
    ) {
      this.pos += 1;
    }
    this.pos += 2;
    this.marker = -1;
  }
}

function extend(value: number, bits: number): number {
  return value < 1 << (bits - 1) ? value - (1 << bits) + 1 : value;
}

const zigzag = Int32Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
]);

// IJG jidctint.c constants (CONST_BITS = 13).
const CONST_BITS = 13;
const PASS1_BITS = 1;
const F0_298 = 2446;
const F0_390 = 3196;
const F0_541 = 4433;
const F0_765 = 6270;
const F0_899 = 7373;
const F1_175 = 9633;
const F1_501 = 12299;
const F1_847 = 15137;
const F1_961 = 16069;
const F2_053 = 16819;
const F2_562 = 20995;
const F3_072 = 25172;

/** Arithmetic right shift with rounding on doubles (values may exceed 32 bits in 12-bit mode). */
function descale(x: number, n: number): number {
  return Math.floor((x + 2 ** (n - 1)) / 2 ** n);
}

/** IJG islow inverse DCT of one dequantised block into 12-bit samples. */
function idctBlock(
  coef: Float64Array,
  out: Uint16Array,
  outOffset: number,
  stride: number,
  work: Float64Array,
): void {
  for (let c = 0; c < 8; c++) {
    const i0 = coef[c]!;
    if (
      coef[8 + c] === 0 &&
      coef[16 + c] === 0 &&
      coef[24 + c] === 0 &&
      coef[32 + c] === 0 &&
      coef[40 + c] === 0 &&
      coef[48 + c] === 0 &&
      coef[56 + c] === 0
    ) {
      const dc = i0 * 2 ** PASS1_BITS;
      for (let r = 0; r < 8; r++) work[r * 8 + c] = dc;
      continue;
    }
    let z2 = coef[16 + c]!;
    let z3 = coef[48 + c]!;
    let z1 = (z2 + z3) * F0_541;
    let tmp2 = z1 + z3 * -F1_847;
    let tmp3 = z1 + z2 * F0_765;
    z2 = i0;
    z3 = coef[32 + c]!;
    let tmp0 = (z2 + z3) * 2 ** CONST_BITS;
    let tmp1 = (z2 - z3) * 2 ** CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = coef[56 + c]!;
    tmp1 = coef[40 + c]!;
    tmp2 = coef[24 + c]!;
    tmp3 = coef[8 + c]!;
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F1_175;
    tmp0 *= F0_298;
    tmp1 *= F2_053;
    tmp2 *= F3_072;
    tmp3 *= F1_501;
    z1 *= -F0_899;
    z2 *= -F2_562;
    z3 = z3 * -F1_961 + z5;
    z4 = z4 * -F0_390 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const s = CONST_BITS - PASS1_BITS;
    work[c] = descale(tmp10 + tmp3, s);
    work[56 + c] = descale(tmp10 - tmp3, s);
    work[8 + c] = descale(tmp11 + tmp2, s);
    work[48 + c] = descale(tmp11 - tmp2, s);
    work[16 + c] = descale(tmp12 + tmp1, s);
    work[40 + c] = descale(tmp12 - tmp1, s);
    work[24 + c] = descale(tmp13 + tmp0, s);
    work[32 + c] = descale(tmp13 - tmp0, s);
  }
  const clampOut = (v: number) => {
    const x = v + 2048;
    return x < 0 ? 0 : Math.min(x, 4095);
  };
  for (let r = 0; r < 8; r++) {
    const w = r * 8;
    const o = outOffset + r * stride;
    if (
      work[w + 1] === 0 &&
      work[w + 2] === 0 &&
      work[w + 3] === 0 &&
      work[w + 4] === 0 &&
      work[w + 5] === 0 &&
      work[w + 6] === 0 &&
      work[w + 7] === 0
    ) {
      const v = clampOut(descale(work[w]!, PASS1_BITS + 3));
      for (let c = 0; c < 8; c++) out[o + c] = v;
      continue;
    }
    let z2 = work[w + 2]!;
    let z3 = work[w + 6]!;
    let z1 = (z2 + z3) * F0_541;
    let tmp2 = z1 + z3 * -F1_847;
    let tmp3 = z1 + z2 * F0_765;
    let tmp0 = (work[w]! + work[w + 4]!) * 2 ** CONST_BITS;
    let tmp1 = (work[w]! - work[w + 4]!) * 2 ** CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = work[w + 7]!;
    tmp1 = work[w + 5]!;
    tmp2 = work[w + 3]!;
    tmp3 = work[w + 1]!;
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F1_175;
    tmp0 *= F0_298;
    tmp1 *= F2_053;
    tmp2 *= F3_072;
    tmp3 *= F1_501;
    z1 *= -F0_899;
    z2 *= -F2_562;
    z3 = z3 * -F1_961 + z5;
    z4 = z4 * -F0_390 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const s = CONST_BITS + PASS1_BITS + 3;
    out[o] = clampOut(descale(tmp10 + tmp3, s));
    out[o + 7] = clampOut(descale(tmp10 - tmp3, s));
    out[o + 1] = clampOut(descale(tmp11 + tmp2, s));
    out[o + 6] = clampOut(descale(tmp11 - tmp2, s));
    out[o + 2] = clampOut(descale(tmp12 + tmp1, s));
    out[o + 5] = clampOut(descale(tmp12 - tmp1, s));
    out[o + 3] = clampOut(descale(tmp13 + tmp0, s));
    out[o + 4] = clampOut(descale(tmp13 - tmp0, s));
  }
}

/** Decodes a single-component, Huffman-coded 12-bit JPEG: sequential (SOF0/SOF1) or progressive (SOF2). */
export function decodeJpeg12(data: Uint8Array): Jpeg12Output {
  if (data[0] !== 0xff || data[1] !== 0xd8) fail('no SOI marker');
  const quant: (Uint16Array | undefined)[] = [];
  const dcTables: (Huffman | undefined)[] = [];
  const acTables: (Huffman | undefined)[] = [];
  let frame: Frame | undefined;
  let quantIndex = 0;
  let restartInterval = 0;
  let scans = 0;
  let at = 2;
  const u16 = (p: number) => {
    if (p + 2 > data.length) fail('truncated marker segment');
    return (data[p]! << 8) | data[p + 1]!;
  };
  for (;;) {
    if (at + 2 > data.length) break; // no EOI: use what was decoded
    if (data[at] !== 0xff) fail(`expected a marker at byte ${at}`);
    const marker = data[at + 1]!;
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0xd9) break;
    if (marker >= 0xd0 && marker <= 0xd7) {
      at += 2;
      continue;
    }
    const length = u16(at + 2);
    const end = at + 2 + length;
    if (end > data.length || length < 2)
      fail(`marker 0x${marker.toString(16)} length ${length} runs past the data`);
    const p = at + 4;
    if (marker === 0xdb) {
      let q = p;
      while (q < end) {
        const pq = data[q]! >> 4;
        const tq = data[q]! & 15;
        const table = new Uint16Array(64);
        for (let i = 0; i < 64; i++) table[zigzag[i]!] = pq ? u16(q + 1 + 2 * i) : data[q + 1 + i]!;
        if (tq > 3) fail('quantisation table id > 3');
        quant[tq] = table;
        q += 1 + 64 * (pq ? 2 : 1);
      }
    } else if (marker === 0xc4) {
      let q = p;
      while (q < end) {
        const tc = data[q]! >> 4;
        const th = data[q]! & 15;
        const counts = data.subarray(q + 1, q + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        if (q + 17 + total > end || th > 3) fail('bad Huffman table');
        const table = buildHuffman(counts, data.subarray(q + 17, q + 17 + total));
        if (tc === 0) dcTables[th] = table;
        else acTables[th] = table;
        q += 17 + total;
      }
    } else if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (frame) fail('more than one frame header');
      if (data[p] !== 12) fail(`sample precision ${data[p]} (only 12 is handled here)`);
      const height = u16(p + 1);
      const width = u16(p + 3);
      if (data[p + 5] !== 1) fail(`${data[p + 5]} components (only 1 is handled)`);
      if (!width || !height) fail('zero image size');
      quantIndex = data[p + 8]!;
      const blocksX = Math.ceil(width / 8);
      const blocksY = Math.ceil(height / 8);
      frame = {
        width,
        height,
        blocksX,
        blocksY,
        progressive: marker === 0xc2,
        coefficients: new Int32Array(blocksX * blocksY * 64),
      };
    } else if (marker === 0xdd) {
      restartInterval = u16(p);
    } else if (marker === 0xda) {
      if (!frame) fail('scan before the frame header');
      if (data[p] !== 1) fail('scan with more than one component');
      const tables = data[p + 2]!;
      const scan: Scan = {
        dc: dcTables[tables >> 4],
        ac: acTables[tables & 15],
        ss: data[p + 3]!,
        se: data[p + 4]!,
        ah: data[p + 5]! >> 4,
        al: data[p + 5]! & 15,
      };
      if (frame.progressive && (scan.se > 63 || scan.ss > scan.se || scan.al > 13)) {
        fail('bad spectral selection / successive approximation');
      }
      const reader = new BitReader(data, end);
      decodeScanInto(frame, scan, reader, restartInterval);
      scans += 1;
      at = nextMarker(data, reader.pos);
      continue;
    } else if (
      (marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) ||
      marker === 0xf7
    ) {
      fail(`unsupported JPEG process (SOF${marker - 0xc0})`);
    }
    at = end;
  }
  if (!frame || scans === 0) fail('no image data');
  const q = quant[quantIndex];
  if (!q) fail('frame refers to a missing quantisation table');
  return reconstruct(frame, q);
}

interface Frame {
  width: number;
  height: number;
  blocksX: number;
  blocksY: number;
  progressive: boolean;
  /** Quantised coefficients of every block, natural order. */
  coefficients: Int32Array;
}

interface Scan {
  dc: Huffman | undefined;
  ac: Huffman | undefined;
  ss: number;
  se: number;
  ah: number;
  al: number;
}

function nextMarker(data: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 1 < data.length; i++) {
    if (data[i] === 0xff) {
      const m = data[i + 1]!;
      if (m !== 0x00 && m !== 0xff && !(m >= 0xd0 && m <= 0xd7)) return i;
    }
  }
  return data.length;
}

function decodeScanInto(frame: Frame, scan: Scan, reader: BitReader, restartInterval: number): void {
  const { coefficients, blocksX, blocksY } = frame;
  const needDc = !frame.progressive || scan.ss === 0;
  const needAc = !frame.progressive || scan.se > 0;
  if ((needDc && scan.ah === 0 && !scan.dc) || (needAc && !scan.ac))
    fail('scan refers to a missing Huffman table');
  // Sequential scans always carry whole blocks; like IJG, ignore odd Ss/Se/Ah/Al values there.
  const total = blocksX * blocksY;
  let predictor = 0;
  let eobrun = 0;
  for (let b = 0; b < total; b++) {
    if (restartInterval && b > 0 && b % restartInterval === 0) {
      reader.restart();
      predictor = 0;
      eobrun = 0;
    }
    const base = b * 64;
    if (!frame.progressive) {
      predictor = decodeDcFirst(reader, scan.dc!, coefficients, base, predictor, 0);
      decodeAcSequential(reader, scan.ac!, coefficients, base);
    } else if (scan.ss === 0) {
      if (scan.ah === 0) predictor = decodeDcFirst(reader, scan.dc!, coefficients, base, predictor, scan.al);
      else if (reader.read(1)) coefficients[base]! |= 1 << scan.al;
    } else if (scan.ah === 0) {
      eobrun = decodeAcFirst(reader, scan, coefficients, base, eobrun);
    } else {
      eobrun = decodeAcRefine(reader, scan, coefficients, base, eobrun);
    }
    if (reader.ranOff && b < total - 1) {
      fail('entropy-coded data ends early');
    }
  }
}

function decodeDcFirst(
  reader: BitReader,
  dc: Huffman,
  coefficients: Int32Array,
  base: number,
  predictor: number,
  al: number,
): number {
  const s = reader.decode(dc);
  if (s > 16) fail('DC difference category out of range');
  const next = predictor + (s ? extend(reader.read(s), s) : 0);
  coefficients[base] = next * 2 ** al;
  return next;
}

function decodeAcSequential(reader: BitReader, ac: Huffman, coefficients: Int32Array, base: number): void {
  for (let k = 1; k < 64; ) {
    const rs = reader.decode(ac);
    const r = rs >> 4;
    const size = rs & 15;
    if (size === 0) {
      if (r !== 15) break;
      k += 16;
      continue;
    }
    k += r;
    if (k > 63) fail('AC coefficient index out of range');
    coefficients[base + zigzag[k]!] = extend(reader.read(size), size);
    k += 1;
  }
}

function decodeAcFirst(
  reader: BitReader,
  scan: Scan,
  coefficients: Int32Array,
  base: number,
  eobrun: number,
): number {
  if (eobrun > 0) return eobrun - 1;
  for (let k = scan.ss; k <= scan.se; k++) {
    const rs = reader.decode(scan.ac!);
    const r = rs >> 4;
    const size = rs & 15;
    if (size === 0) {
      if (r < 15) return (1 << r) - 1 + (r ? reader.read(r) : 0);
      k += 15;
      continue;
    }
    k += r;
    if (k > 63) fail('AC coefficient index out of range');
    coefficients[base + zigzag[k]!] = extend(reader.read(size), size) * 2 ** scan.al;
  }
  return 0;
}

/** Successive-approximation refinement of AC coefficients (libjpeg's decode_mcu_AC_refine). */
function decodeAcRefine(
  reader: BitReader,
  scan: Scan,
  coefficients: Int32Array,
  base: number,
  eobrun: number,
): number {
  const p1 = 1 << scan.al;
  const m1 = -1 << scan.al;
  let k = scan.ss;
  const refine = (z: number) => {
    if (reader.read(1) && (coefficients[z]! & p1) === 0) coefficients[z]! += coefficients[z]! >= 0 ? p1 : m1;
  };
  if (eobrun === 0) {
    for (; k <= scan.se; k++) {
      const rs = reader.decode(scan.ac!);
      let r = rs >> 4;
      let s = rs & 15;
      if (s) {
        s = reader.read(1) ? p1 : m1;
      } else if (r !== 15) {
        eobrun = (1 << r) + (r ? reader.read(r) : 0);
        break;
      }
      do {
        const z = base + zigzag[k]!;
        if (coefficients[z] !== 0) refine(z);
        else if (--r < 0) break;
        k++;
      } while (k <= scan.se);
      if (s && k <= 63) coefficients[base + zigzag[k]!] = s;
    }
  }
  if (eobrun > 0) {
    for (; k <= scan.se; k++) {
      const z = base + zigzag[k]!;
      if (coefficients[z] !== 0) refine(z);
    }
    eobrun -= 1;
  }
  return eobrun;
}

function reconstruct(frame: Frame, q: Uint16Array): Jpeg12Output {
  const { width, height, blocksX, blocksY, coefficients } = frame;
  const paddedWidth = blocksX * 8;
  const padded = new Uint16Array(paddedWidth * blocksY * 8);
  const coef = new Float64Array(64);
  const work = new Float64Array(64);
  for (let by = 0; by < blocksY; by++) {
    for (let bx = 0; bx < blocksX; bx++) {
      const base = (by * blocksX + bx) * 64;
      for (let i = 0; i < 64; i++) coef[i] = coefficients[base + i]! * q[i]!;
      idctBlock(coef, padded, by * 8 * paddedWidth + bx * 8, paddedWidth, work);
    }
  }
  const out = new Uint16Array(width * height);
  for (let y = 0; y < height; y++)
    out.set(padded.subarray(y * paddedWidth, y * paddedWidth + width), y * width);
  return { width, height, data: out };
}
