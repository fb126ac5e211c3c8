// dcmjs ships no type declarations; this covers the part of its API we use (data set writing, and
// reading SRs and presentation states in sr-read.ts).
declare module 'dcmjs' {
  type NaturalDataset = Record<string, unknown>;
  class DicomDict {
    constructor(meta: Record<string, unknown>);
    dict: Record<string, unknown>;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  const DicomMetaDictionary: {
    uid(): string;
    denaturalizeDataset(dataset: NaturalDataset): Record<string, unknown>;
    naturalizeDataset(dataset: Record<string, unknown>): NaturalDataset;
  };
  const DicomMessage: {
    readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDict;
  };
  const dcmjs: {
    data: {
      DicomDict: typeof DicomDict;
      DicomMetaDictionary: typeof DicomMetaDictionary;
      DicomMessage: typeof DicomMessage;
    };
  };
  export default dcmjs;
}
