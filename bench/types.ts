export interface BenchContext {
  log(line: string): void;
}
/** A bench file's default export: measures and returns JSON-serialisable results. */
export type BenchModule = { default: (context: BenchContext) => Promise<Record<string, unknown>> };
