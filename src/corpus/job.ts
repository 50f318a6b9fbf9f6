/**
 * A shard job: the documents themselves travel in it (a worker on another machine needs no shared
 * disk), with the weights they must be tagged with.
 */
import type { JobsOptions } from 'bullmq';

/** One document of a shard: its text or words, or the reason it could not be read. */
export interface ShardDoc {
  /** The input file, as an index into the job's `files`. */
  file: number;
  /** The document's physical line in its file, from 1. */
  line: number;
  text?: string; tokens?: string[]; id?: unknown;
  error?: string;
}

export interface ShardJob {
  corpus: string; shard: number;
  model: string; weights: string;
  /** The input files this shard's documents come from. */
  files: string[];
  docs: ShardDoc[];
}

/**
 * Retries with exponential backoff (2 s, 4 s, ... about 4 minutes in all) ride out a worker that fails on
 * a shard; a completed job is dropped (its result lives under the corpus's keys, and the job's copy of
 * the text would only hold memory), a failed one is kept for `corpus status` to show.
 */
export const SHARD_JOB_OPTIONS: JobsOptions = {
  attempts: 8, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: true, removeOnFail: false,
};
