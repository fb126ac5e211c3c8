// Starts the TypeScript job worker from a source checkout: tsx's loader must be registered inside
// the worker thread itself, before the worker module is imported.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
