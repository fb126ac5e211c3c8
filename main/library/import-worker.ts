// Entry point of the library's own job worker (openLibrary without a runner: CLI import, tests): it
// serves only the import. The app's services pass the app's runner instead (app/jobs.ts).
import { serveJobs } from '../jobs/serve.ts';
import { importIntoLibrary } from './importer.ts';

serveJobs({ importPaths: importIntoLibrary });
