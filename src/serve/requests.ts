/** The server's request checks: each failure is a RequestError with its HTTP status and a message naming the field. */

export class RequestError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** Words a traced sentence may have: the trace records every layer, so it grows fast with length. */
export const MAX_TRACE_WORDS = 100;

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

function checkModel(model: unknown, names: readonly string[]): string | undefined {
  if (model === undefined) return undefined;
  if (typeof model !== 'string') throw new RequestError(400, `"model" must be a string naming a model (${names.join(', ')}), got ${kindOf(model)}`);
  if (!names.includes(model)) throw new RequestError(400, `unknown model '${model}'; this server holds ${names.join(', ')}`);
  return model;
}

/** POST /v1/ner's body: {"texts": [string, ...], "model"?: NAME}, at most `maxTexts` texts. */
export function checkNerRequest(body: unknown, names: readonly string[], maxTexts: number): { texts: string[]; model?: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new RequestError(400, `the body must be a JSON object {"texts": ["...", ...], "model"?: NAME}, got ${kindOf(body)}`);
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).filter((k) => k !== 'texts' && k !== 'model');
  if (extra.length) throw new RequestError(400, `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')}; the body takes "texts" and "model"`);
  if (!Array.isArray(b.texts)) throw new RequestError(400, `"texts" must be a list of strings, got ${b.texts === undefined ? 'nothing' : kindOf(b.texts)}`);
  if (b.texts.length > maxTexts) throw new RequestError(413, `a request may carry at most ${maxTexts} texts, got ${b.texts.length}`);
  const bad = b.texts.findIndex((t) => typeof t !== 'string');
  if (bad >= 0) throw new RequestError(400, `texts[${bad}] must be a string, got ${kindOf(b.texts[bad])}`);
  return { texts: b.texts as string[], model: checkModel(b.model, names) };
}

/** GET /v1/trace's query: ?sentence=...&model=NAME, a sentence of at most MAX_TRACE_WORDS words. */
export function checkTraceQuery(query: unknown, names: readonly string[]): { sentence: string; model?: string } {
  const q = (query ?? {}) as Record<string, unknown>;
  if (typeof q.sentence !== 'string' || !q.sentence.trim()) throw new RequestError(400, 'the query needs ?sentence=... (the sentence to trace)');
  const words = q.sentence.trim().split(/\s+/).length;
  if (words > MAX_TRACE_WORDS) throw new RequestError(413, `a traced sentence may have at most ${MAX_TRACE_WORDS} words, got ${words}`);
  return { sentence: q.sentence, model: checkModel(q.model, names) };
}
