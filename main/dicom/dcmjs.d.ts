// dcmjs ships no type declarations; this covers the part of its API we use (data set writing).
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
  };
  const dcmjs: { data: { DicomDict: typeof DicomDict; DicomMetaDictionary: typeof DicomMetaDictionary } };
  export default dcmjs;
}
