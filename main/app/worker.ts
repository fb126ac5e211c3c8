// Entry point of the app's job worker: a worker thread under Node, an Electron utilityProcess in the app.
import { serveJobs } from '../jobs/serve.ts';
import { jobHandlers } from './jobs.ts';

serveJobs(jobHandlers);
