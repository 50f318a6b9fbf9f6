/**
 * Tags one shard's documents in one streaming pass, batched across documents exactly as `predict` tags
 * a file holding them, and turns each into its output line: the `predict --json` object with `file` and
 * `line`, or `{file, line, error}` for a document that could not be tagged. One bad document never
 * costs the others: when a batch throws, its documents are tagged again one at a time.
 */
import type { NerModel } from '../ner/contract.js';
import { type DocumentInput, tagStream, type TaggedDocument, type TagOptions } from '../ner/predict.js';
import type { Device } from '../tensor/device.js';
import type { ShardDoc, ShardJob } from './job.js';

/** A loaded model, its device, and the decoding `predict` would use for it. */
export interface Tagger { model: NerModel; device: Device; options: TagOptions }

export interface ShardResult { lines: string[]; failed: number }

type Outcome = TaggedDocument | { error: string };

const inputOf = (d: ShardDoc): DocumentInput => (d.tokens ? { tokens: d.tokens } : d.text!);
const lengthOf = (d: ShardDoc) => (d.tokens ? d.tokens.join(' ').length : d.text!.length);
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** Lets timers run: BullMQ renews the shard's lock on one, and the cpu device computes without pausing. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The model, pausing for timers before each batch, so that one long document (hundreds of batches) on the
 * cpu device cannot hold the event loop past the lock and have its shard taken for a dead worker's.
 */
function withPauses(model: NerModel): NerModel {
  return new Proxy(model, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === 'infer') return async (...args: Parameters<NerModel['infer']>) => { await breathe(); return target.infer(...args); };
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export async function tagShard(t: Tagger, job: ShardJob, maxDocChars: number): Promise<ShardResult> {
  const outcomes: Outcome[] = job.docs.map((d) => ({ error: d.error ?? '' }));
  const taggable: number[] = [];
  job.docs.forEach((d, i) => {
    if (d.error) return;
    const n = lengthOf(d);
    if (n > maxDocChars) outcomes[i] = { error: `document of ${n} characters, longer than --max-doc-chars ${maxDocChars}` };
    else taggable.push(i);
  });
  await tagAll({ ...t, model: withPauses(t.model) }, job.docs, taggable, outcomes);
  const modelFailures = taggable.filter((i) => 'error' in outcomes[i]);
  // Every document failing in the model says the worker is broken (a lost GPU), not the documents: the
  // shard fails, to be retried, rather than being stored as errors.
  if (modelFailures.length >= 2 && modelFailures.length === taggable.length) {
    throw new Error(`every document of the shard failed to tag: ${(outcomes[taggable[0]] as { error: string }).error}`);
  }
  const lines = job.docs.map((d, i) => outputLine(job, d, outcomes[i]));
  return { lines, failed: outcomes.filter((o) => 'error' in o).length };
}

function outputLine(job: ShardJob, d: ShardDoc, o: Outcome): string {
  const head = { file: job.files[d.file], line: d.line, ...(d.id !== undefined ? { id: d.id } : {}) };
  return JSON.stringify('error' in o ? { ...head, error: o.error } : { ...head, sentences: o.sentences, entities: o.entities });
}

/**
 * Tags the documents at `order` (indexes into `docs`) in batches. When a batch throws, the documents it
 * held (read by the stream but not yet given back) are tagged one at a time, and the stream resumes after them.
 */
async function tagAll(t: Tagger, docs: ShardDoc[], order: number[], out: Outcome[]): Promise<void> {
  let next = 0;
  while (next < order.length) {
    let read = next;
    const source = function* () { while (read < order.length) yield order[read++]; };
    try {
      for await (const { doc, tagged } of tagStream(t.model, t.device, source(), (i) => inputOf(docs[i]), t.options)) {
        out[doc] = tagged;
        next++;
      }
    } catch {
      // At least one document moves on, even if the stream failed before reading any.
      const end = Math.max(read, next + 1);
      for (; next < end; next++) out[order[next]] = await tagAlone(t, docs[order[next]]);
    }
  }
}

async function tagAlone(t: Tagger, d: ShardDoc): Promise<Outcome> {
  try {
    for await (const { tagged } of tagStream(t.model, t.device, [d], inputOf, t.options)) return tagged;
    return { error: 'no result from the model' };
  } catch (e) {
    return { error: messageOf(e) };
  }
}
