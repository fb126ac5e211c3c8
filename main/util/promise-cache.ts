/**
 * A least-recently-used cache of promises: concurrent requests for one key share one computation,
 * and a rejected promise is not remembered (the file may be back, or fixed, next time).
 */
export class PromiseCache<K, V> {
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recent first.
  readonly #entries = new Map<K, Promise<V>>();

  /** `limit` entries at most (Infinity: never evicts). */
  constructor(readonly limit: number) {}

  /** The cached promise for `key`, else the one `make()` returns (which is cached). */
  get(key: K, make: () => Promise<V>): Promise<V> {
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
    } else {
      const made = make();
      made.catch(() => {
        if (this.#entries.get(key) === made) this.#entries.delete(key);
      });
      entry = made;
    }
    this.#entries.set(key, entry);
    if (this.#entries.size > this.limit) this.#entries.delete(this.#entries.keys().next().value!);
    return entry;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Forgets every entry and returns them (e.g. to release what they hold). */
  clear(): Promise<V>[] {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    return all;
  }
}
