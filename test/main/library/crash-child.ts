// Child process for crash.test.ts: imports a folder and prints progress until it is killed.
import { openLibrary } from '../../../main/library/index.ts';

const [source, dataDir] = process.argv.slice(2);
if (!source || !dataDir) throw new Error('usage: crash-child.ts <source> <dataDir>');
const library = openLibrary({ dataDir });
await library.importPaths([source], { onProgress: (p) => process.stdout.write(`progress ${p.done}\n`) });
process.stdout.write('finished\n');
await library.close();
