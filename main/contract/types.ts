// Types of the IPC contract. The renderer imports ONLY this file (type-only), never the schemas.
import type { z } from 'zod';
import type { SerializedError } from '../util/errors.ts';
import type { appEvent, contract } from './channels.ts';
import type { ChannelName } from './names.ts';

export type { ChannelName } from './names.ts';
export type { SerializedError, ErrorCode } from '../util/errors.ts';
export type Input<K extends ChannelName> = z.input<(typeof contract)[K]['input']>;
export type Output<K extends ChannelName> = z.output<(typeof contract)[K]['output']>;
export type AppEvent = z.output<typeof appEvent>;

/** Every call resolves to an envelope; failures are values, so no error is lost in transit. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

/** What the preload exposes as `window.r2c` (and what the browser-test harness provides). */
export type R2cBridge = { [K in ChannelName]: (payload: Input<K>) => Promise<Envelope<Output<K>>> } & {
  onEvent(listener: (event: AppEvent) => void): () => void;
  /** The absolute path of a dropped file or folder; '' when it has none (not from the file system). */
  pathForFile(file: File): string;
};

// Full shapes of the reader-study outputs (the store builds them; the contract checks key fields).
export type {
  AnswerView,
  ChoiceQuestionResult,
  PreferenceQuestionResult,
  ScoreQuestionResult,
  SessionView,
  StudyDetails as ReviewStudyDetails,
  StudyResults as ReviewResults,
  StudySummary as ReviewStudySummary,
} from '../review/index.ts';
