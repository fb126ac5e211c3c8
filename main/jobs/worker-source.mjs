// Starts a TypeScript job worker from a source checkout: tsx's loader must be registered inside
// the worker thread itself, before the worker's entry module (workerData.entry) is imported.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
