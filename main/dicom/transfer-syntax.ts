/** Transfer syntaxes we know, how their pixel data is stored, and which decoder handles them. */
export type PixelEncoding =
  | 'native'
  | 'rle'
  | 'jpeg-baseline'
  | 'jpeg-extended'
  | 'jpeg-progressive'
  | 'jpeg-lossless'
  | 'jpeg-ls'
  | 'jpeg2000'
  | 'htj2k';

export interface TransferSyntax {
  uid: string;
  name: string;
  encoding: PixelEncoding;
  /** Lossy syntaxes cannot be compared bit-exactly with another decoder. */
  lossy: boolean;
  bigEndian?: boolean;
  implicitVr?: boolean;
  deflated?: boolean;
}

const table: TransferSyntax[] = [
  {
    uid: '1.2.840.10008.1.2',
    name: 'Implicit VR Little Endian',
    encoding: 'native',
    lossy: false,
    implicitVr: true,
  },
  { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', encoding: 'native', lossy: false },
  {
    uid: '1.2.840.10008.1.2.1.99',
    name: 'Deflated Explicit VR Little Endian',
    encoding: 'native',
    lossy: false,
    deflated: true,
  },
  {
    uid: '1.2.840.10008.1.2.2',
    name: 'Explicit VR Big Endian',
    encoding: 'native',
    lossy: false,
    bigEndian: true,
  },
  {
    uid: '1.2.840.10008.1.2.4.50',
    name: 'JPEG Baseline (Process 1)',
    encoding: 'jpeg-baseline',
    lossy: true,
  },
  {
    uid: '1.2.840.10008.1.2.4.51',
    name: 'JPEG Extended (Process 2 & 4)',
    encoding: 'jpeg-extended',
    lossy: true,
  },
  {
    uid: '1.2.840.10008.1.2.4.53',
    name: 'JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8, retired)',
    encoding: 'jpeg-progressive',
    lossy: true,
  },
  {
    uid: '1.2.840.10008.1.2.4.55',
    name: 'JPEG Full Progression, Non-Hierarchical (Process 10 & 12, retired)',
    encoding: 'jpeg-progressive',
    lossy: true,
  },
  {
    uid: '1.2.840.10008.1.2.4.57',
    name: 'JPEG Lossless, Non-Hierarchical (Process 14)',
    encoding: 'jpeg-lossless',
    lossy: false,
  },
  {
    uid: '1.2.840.10008.1.2.4.70',
    name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1)',
    encoding: 'jpeg-lossless',
    lossy: false,
  },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', encoding: 'jpeg-ls', lossy: false },
  { uid: '1.2.840.10008.1.2.4.81', name: 'JPEG-LS Lossy (Near-Lossless)', encoding: 'jpeg-ls', lossy: true },
  { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 (Lossless Only)', encoding: 'jpeg2000', lossy: false },
  { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000', encoding: 'jpeg2000', lossy: true },
  { uid: '1.2.840.10008.1.2.4.201', name: 'HTJ2K (Lossless Only)', encoding: 'htj2k', lossy: false },
  {
    uid: '1.2.840.10008.1.2.4.202',
    name: 'HTJ2K with RPCL Options (Lossless Only)',
    encoding: 'htj2k',
    lossy: false,
  },
  { uid: '1.2.840.10008.1.2.4.203', name: 'HTJ2K', encoding: 'htj2k', lossy: true },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', encoding: 'rle', lossy: false },
];

const byUid = new Map(table.map((ts) => [ts.uid, ts]));

export function lookupTransferSyntax(uid: string): TransferSyntax | undefined {
  return byUid.get(uid);
}

export const knownTransferSyntaxes: readonly TransferSyntax[] = table;
