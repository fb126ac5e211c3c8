// Long calls as jobs: each runs under its job id with an AbortController that cancelJob reaches,
// reports progress as push events and always ends with a jobEnded event.
import type { jobChannels } from '../contract/jobs.ts';
import type { JobProgress } from '../jobs/types.ts';
import type { CallContext, HandlerTable } from './dispatch.ts';

/** The handlers of the channels in one domain of the contract (e.g. `typeof libraryChannels`). */
export type DomainHandlers<Channels> = Pick<HandlerTable, keyof Channels & keyof HandlerTable>;

export interface JobCalls {
  /**
   * Runs `work` as the job `jobId`: its signal is aborted by cancelJob, its progress goes to the
   * caller as jobProgress events, and jobEnded follows however it ends.
   */
  run<T>(
    jobId: string,
    emit: CallContext['emit'],
    work: (signal: AbortSignal, onProgress: (progress: JobProgress) => void) => Promise<T>,
  ): Promise<T>;
  /** The cancelJob channel. */
  handlers: DomainHandlers<typeof jobChannels>;
}

export function createJobCalls(): JobCalls {
  const running = new Map<string, AbortController>();
  return {
    async run(jobId, emit, work) {
      const controller = new AbortController();
      running.set(jobId, controller);
      try {
        return await work(controller.signal, (p) => emit({ type: 'jobProgress', jobId, ...p }));
      } finally {
        running.delete(jobId);
        emit({ type: 'jobEnded', jobId });
      }
    },
    handlers: {
      async cancelJob({ jobId }) {
        const controller = running.get(jobId);
        controller?.abort();
        return { cancelled: controller !== undefined };
      },
    },
  };
}
