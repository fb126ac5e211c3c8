import type { SerializedError } from '../../../main/contract/types.ts';

export interface ShownError {
  id: number;
  channel: string;
  code: string;
  message: string;
}

let nextId = 1;
export const errors = $state<ShownError[]>([]);

export function reportError(channel: string, error: SerializedError): void {
  errors.push({ id: nextId++, channel, code: error.code, message: error.message });
  if (errors.length > 5) errors.shift();
}

export function dismissError(id: number): void {
  const index = errors.findIndex((e) => e.id === id);
  if (index >= 0) errors.splice(index, 1);
}
