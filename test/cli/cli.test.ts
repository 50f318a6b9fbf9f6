import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';

const s = suite('diffusionner command');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'dner-cli-'));
const cli = (...args: string[]) => cliWith(undefined, ...args);
const cliWith = (input: string | Buffer | undefined, ...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), ...args], { encoding: 'utf8', input, env: { ...process.env, DNER_DEVICE: 'cpu' }, timeout: 120_000 });
const oneLineError = (r: ReturnType<typeof cli>, pattern: RegExp, what: string) => {
  if (r.status === 0 || r.stderr.trim().split('\n').length !== 1 || !pattern.test(r.stderr)) throw new Error(`${what}: status ${r.status}, stderr ${JSON.stringify(r.stderr)}`);
};

s('train writes a model folder, metrics and a log; eval scores it; bad input is one line and a non-zero exit', () => {
  const sent = (i: number) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris', 'y'], entities: [{ start: 2, end: 3, type: 'LOC' }] });
  writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 6 }, (_, i) => sent(i)).join('\n') + '\n');
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({
    data: { train: 'train.jsonl', dev: 'train.jsonl', test: 'train.jsonl' },
    model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8, dropout: 0 },
    train: { epochs: 1, batch: 3, lr: 1e-3, checkpointEvery: 1 }, eval: { mode: 'flat', proposals: 4, thresholds: [0, 1.5] }, out: join(dir, 'run'),
  }));
  const t = cli('train', '--config', join(dir, 'cfg.json'));
  if (t.status !== 0) throw new Error(`train failed: ${t.stderr}`);
  // stderr is a pipe here, as in a background run: progress comes as plain lines, one per checkpoint.
  if (!/^epoch 1: 3\/6 sentences \(50 %\), [\d.]+ sent\/s, ETA \d+ s, loss [\d.]+$/m.test(t.stderr) || !t.stderr.includes('epoch 1: evaluating dev (6 sentences)') || !/^evaluating: 6\/6 sentences \(100 %\)/m.test(t.stderr) || t.stderr.includes('\r')) {
    throw new Error(`progress lines on a pipe: ${JSON.stringify(t.stderr)}`);
  }
  for (const f of ['model/config.json', 'model/model.safetensors', 'model/vocab.txt', 'metrics.json', 'train.log']) {
    if (!existsSync(join(dir, 'run', f))) throw new Error(`missing ${f}`);
  }
  // Every new model folder names its kind (a folder without one is a DiffusionNER folder).
  if (JSON.parse(readFileSync(join(dir, 'run', 'model', 'config.json'), 'utf8')).kind !== 'diffusionner') throw new Error('config.json has no kind');
  const log = readFileSync(join(dir, 'run', 'train.log'), 'utf8');
  if (!log.includes('train: 6 sentences, 6 entities (LOC 6)')) throw new Error('log');
  // φ is chosen on dev among the configured threshold and the sweep, kept with the model and used for test.
  if (!/F1 by φ: 2\.5 → [\d.]+, 0 → [\d.]+, 1\.5 → [\d.]+\)/.test(log)) throw new Error(`no φ sweep in the log:\n${log}`);
  const selection = JSON.parse(readFileSync(join(dir, 'run', 'model', 'selection.json'), 'utf8'));
  const metrics = JSON.parse(readFileSync(join(dir, 'run', 'metrics.json'), 'utf8'));
  if (![0, 1.5, 2.5].includes(selection.threshold) || selection.split !== 'dev' || Object.keys(selection.f1ByThreshold).length !== 3) throw new Error(`selection.json: ${JSON.stringify(selection)}`);
  if (metrics.state !== 'done') throw new Error(`metrics.json state after a whole run: ${metrics.state}`);
  if (metrics.test.threshold !== selection.threshold || metrics.epochs[0].dev.threshold !== selection.threshold) throw new Error(`test φ ${metrics.test.threshold}, dev φ ${metrics.epochs[0].dev.threshold}, chosen ${selection.threshold}`);
  const e = cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'train.jsonl'), '--json', join(dir, 'eval.json'));
  if (e.status !== 0 || !/^P [\d.]+ {2}R [\d.]+ {2}F1 [\d.]+/.test(e.stdout)) throw new Error(`eval: ${e.stdout} ${e.stderr}`);
  // On a pipe, evaluation reports progress as plain lines too (a bar's carriage returns would garble a log).
  if (!/^evaluating: 6\/6 sentences \(100 %\), [\d.]+ sent\/s, ETA 0 s$/m.test(e.stderr) || e.stderr.includes('\r')) throw new Error(`eval progress on a pipe: ${JSON.stringify(e.stderr)}`);
  if (!e.stdout.includes(`φ ${selection.threshold} as chosen in`)) throw new Error(`eval without --threshold must use the chosen φ: ${e.stdout}`);
  // The decoding the model was trained with is recorded too, and used without --mode.
  if (selection.mode !== 'flat' || !e.stdout.includes('flat filtering as recorded in')) throw new Error(`mode: ${JSON.stringify(selection)} ${e.stdout}`);
  writeFileSync(join(dir, 'run', 'model', 'selection.json'), JSON.stringify({ ...selection, mode: 'nested' }));
  const nested = cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'train.jsonl'), '--dedupe');
  writeFileSync(join(dir, 'run', 'model', 'selection.json'), JSON.stringify(selection));
  if (nested.status !== 0 || !nested.stdout.includes('nested filtering as recorded in')) throw new Error(`recorded nested mode: ${nested.stdout} ${nested.stderr}`);
  if (!('micro' in JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')))) throw new Error('eval json');
  // A threshold sweep: one line per φ from one DDIM run, the best one reported, all in the JSON.
  const sw = cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'train.jsonl'), '--threshold', '0,1.5,2.5', '--json', join(dir, 'sweep.json'));
  if (sw.status !== 0 || (sw.stdout.match(/^φ /gm) ?? []).length !== 3 || !/best on this data: φ /.test(sw.stdout)) throw new Error(`sweep: ${sw.stdout} ${sw.stderr}`);
  const sweep = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
  if (sweep.sweep.length !== 3 || !(sweep.sweep[0].micro.predicted >= sweep.sweep[2].micro.predicted)) throw new Error('a lower φ keeps at least as many entities');
  // A sampler grid: one DDIM run per (γ, K) pair, every φ scored from each.
  const grid = cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'train.jsonl'), '--gamma', '1,2', '--k-eval', '3,5', '--threshold', '0,1.5', '--json', join(dir, 'grid.json'));
  const gridLines = grid.stdout.match(/^γ [12] K [35] φ (0|1\.5): P [\d.]+ {2}R [\d.]+ {2}F1 [\d.]+$/gm) ?? [];
  const gridJson = JSON.parse(readFileSync(join(dir, 'grid.json'), 'utf8'));
  if (grid.status !== 0 || gridLines.length !== 8 || !/best on this data: γ [12] K [35] φ /.test(grid.stdout) || gridJson.sweep.length !== 8 || gridJson.sweep[7].gamma !== 2 || gridJson.sweep[7].kEval !== 5) {
    throw new Error(`eval grid: ${grid.stdout} ${grid.stderr}`);
  }
  oneLineError(cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'train.jsonl'), '--gamma', '2,0'), /--gamma must be a whole number >= 1 and <= 1000 \(or a comma-separated list of them\), got '2,0'/, 'a bad γ list');
  if (!e.stderr.includes('train.jsonl: 6 sentences, 6 entities (LOC 6)')) throw new Error(`eval reports the data's counts: ${e.stderr}`);
  writeFileSync(join(dir, 'other-type.jsonl'), '{"tokens": ["a", "b"], "entities": [{"start": 0, "end": 1, "type": "PERSON"}]}\n');
  oneLineError(cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'other-type.jsonl')), /other-type\.jsonl:1: field 'entities\[0\]\.type': 'PERSON' is not one of the types \(LOC\)/, 'a type the model does not know');
  oneLineError(cli('eval'), /eval needs --model DIR and --data FILE \(diffusionner eval --help shows its flags\)/, 'missing arguments');
  oneLineError(cli('bogus'), /unknown command 'bogus'; the commands are train, eval/, 'an unknown command');
  // The adapter report: name, features, limits and the matmul variant, as text or JSON.
  const devJson = cli('device', '--json');
  const report = devJson.status === 0 ? JSON.parse(devJson.stdout) : null;
  if (!report || typeof report.description !== 'string' || !Array.isArray(report.features) || !(report.limits.maxStorageBufferBindingSize > 0) || !['regblock', 'tiled', 'naive'].includes(report.matmulVariant)) {
    throw new Error(`device --json: ${devJson.stdout} ${devJson.stderr}`);
  }
  const devText = cli('device');
  if (devText.status !== 0 || !devText.stdout.includes(report.description) || !/maxComputeWorkgroupsPerDimension +\d+/.test(devText.stdout)) throw new Error(`device: ${devText.stdout}`);
  const help = cli('--help');
  if (help.status !== 0 || !help.stdout.includes('diffusionner eval --model DIR --data FILE')) throw new Error(`--help: ${help.status} ${help.stdout}`);
  // Every command explains its own flags in words; --version prints the package's version.
  const evalHelp = cli('eval', '--help');
  if (evalHelp.status !== 0 || !/--gamma N +γ: DDIM denoising steps/.test(evalHelp.stdout) || !/--threshold X +φ: keep a span/.test(evalHelp.stdout) || !/--k-eval N +K: noisy spans/.test(evalHelp.stdout) || !/--eta X +η: DDIM noise/.test(evalHelp.stdout)) throw new Error(`eval --help: ${evalHelp.stdout}`);
  const version = cli('--version');
  if (version.status !== 0 || version.stdout.trim() !== JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version) throw new Error(`--version: ${version.stdout}`);
  // Flag values are checked against the flag table, naming the flag and the range; negative numbers are values.
  oneLineError(cli('predict', '--model', join(dir, 'run', 'model'), '--k-eval', '0', 'x'), /--k-eval must be a whole number >= 1 and <= 4096, got '0'/, 'K of 0');
  oneLineError(cli('predict', '--model', join(dir, 'run', 'model'), '--eta', '-1', 'x'), /--eta must be a number >= 0, got '-1'/, 'a negative η');
  oneLineError(cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'train.jsonl'), '--threshold=-1'), /--threshold must be a number >= 0 \(or a comma-separated list of them\), got '-1'/, 'a negative φ');
  oneLineError(cli('predict', '--model', join(dir, 'run', 'model'), '--min-score', 'PER=2', 'x'), /--min-score must be a score in \[0, 1\]/, 'a score above 1');
  oneLineError(cli('predict', '--model', join(dir, 'run', 'model'), '--gamma', '-1', 'x'), /--gamma must be a whole number >= 1 and <= 1000, got '-1'/, 'a negative γ');
  oneLineError(cli('train', '--config', dir), new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is a folder, not a config file`), 'a folder as --config');
  oneLineError(cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'train.jsonl'), '--json', join(dir, 'no', 'such', 'dir', 'x.json')), /x\.json: its folder .* does not exist \(--json\)/, 'an output path checked before the work');
  // The bundled models, listed by name, kind, types, scores and terms; their names work as --model.
  const models = cli('models', '--json');
  const listed = models.status === 0 ? JSON.parse(models.stdout) as { name: string; kind: string; types: string[]; test?: { f1: number }; terms?: string }[] : [];
  if (!listed.some((m) => m.name === 'conll2003' && m.kind === 'diffusionner' && m.types.includes('PER') && m.test!.f1 > 85 && /research use only/.test(m.terms!))) throw new Error(`models: ${models.stdout} ${models.stderr}`);
  writeFileSync(join(dir, 'bad.jsonl'), '{"tokens": ["a"], "entities": [{"start": 0, "end": 3, "type": "LOC"}]}\n');
  const bad = cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'bad.jsonl'));
  if (bad.status === 0 || bad.stderr.trim().split('\n').length !== 1 || !/bad\.jsonl:1: field 'entities\[0\]': span \[0, 3\) is outside the 1 tokens/.test(bad.stderr)) {
    throw new Error(`bad input: status ${bad.status}, stderr ${JSON.stringify(bad.stderr)}`);
  }
  const model = join(dir, 'run', 'model');
  // predict: a text argument, --json, a file, stdin; empty and invalid input; long lines split.
  const p = cli('predict', '--model', model, 'x w1 Paris y');
  if (p.status !== 0 || !p.stdout.startsWith('x w1 Paris y\n') || !/1 sentence\(s\)/.test(p.stderr)) throw new Error(`predict: ${p.stdout} ${p.stderr}`);
  // --json: one object per input line (blank lines give none), with the line number, sentences and entity objects.
  const pj = cliWith('x w1 Paris y\n\nx Paris\n', 'predict', '--model', model, '--json', '--threshold', '0');
  const rows = pj.stdout.trim().split('\n').map((l) => JSON.parse(l));
  if (pj.status !== 0 || rows.length !== 2 || rows[1].line !== 3 || rows[1].sentences[0].tokens.join(' ') !== 'x Paris' || !Array.isArray(rows[0].entities)) throw new Error(`predict --json: ${pj.stdout} ${pj.stderr}`);
  for (const [i, text] of ['x w1 Paris y', 'x Paris'].entries()) {
    for (const e of rows[i].entities) {
      if (text.slice(e.start, e.end) !== e.text || !(e.score >= 0 && e.score <= 1) || e.sentence !== 0 || e.startCp !== e.start) throw new Error(`entity object: ${JSON.stringify(e)}`);
    }
  }
  if (!rows.some((r) => r.entities.length)) throw new Error('φ 0 keeps some entity');
  writeFileSync(join(dir, 'text.txt'), 'a b c d e\n');
  const pf = cli('predict', '--model', model, '--file', join(dir, 'text.txt'), '--max-words', '2', '--json');
  const windowed = pf.status === 0 ? JSON.parse(pf.stdout) : null;
  if (!windowed || pf.stdout.trim().split('\n').length !== 1 || windowed.sentences.length !== 1 || windowed.sentences[0].windowed !== true || !/1 sentence\(s\) longer than 2 words were tagged in overlapping windows/.test(pf.stderr)) throw new Error(`predict --file: ${pf.stdout} ${pf.stderr}`);
  // A paragraph on one line is several sentences; JSONL input with a text field or tokens, an id copied; CoNLL and spaCy output.
  const para = cli('predict', '--model', model, '--json', 'x w1 Paris y. Paris y went home. Paris x');
  if (para.status !== 0 || JSON.parse(para.stdout).sentences.length !== 3) throw new Error(`a paragraph: ${para.stdout} ${para.stderr}`);
  writeFileSync(join(dir, 'docs.jsonl'), [JSON.stringify({ id: 'a1', body: 'x Paris y.' }), '', JSON.stringify({ id: 7, tokens: ['x', 'Paris'] })].join('\n') + '\n');
  const pjl = cli('predict', '--model', model, '--file', join(dir, 'docs.jsonl'), '--text-field', 'body', '--json', '--threshold', '0');
  const docs = pjl.status === 0 ? pjl.stdout.trim().split('\n').map((l) => JSON.parse(l)) : [];
  if (docs.length !== 2 || docs[0].id !== 'a1' || docs[0].line !== 1 || docs[1].id !== 7 || docs[1].line !== 3 || docs[1].sentences[0].tokens.join(' ') !== 'x Paris') throw new Error(`predict jsonl: ${pjl.stdout} ${pjl.stderr}`);
  oneLineError(cli('predict', '--model', model, '--file', join(dir, 'docs.jsonl')), /docs\.jsonl:1: no text: expected a string field 'text' \(--text-field\) or a list of words 'tokens'/, 'a JSONL document without its text field');
  const conll = cli('predict', '--model', model, '--output', 'conll', '--threshold', '0', 'x Paris y');
  if (conll.status !== 0 || !/^-DOCSTART-\tO\n\nx\t(O|[BI]-LOC)\nParis\t(O|[BI]-LOC)\ny\t(O|[BI]-LOC)\n\n/.test(conll.stdout)) throw new Error(`--output conll: ${JSON.stringify(conll.stdout)} ${conll.stderr}`);
  const spacy = cli('predict', '--model', model, '--output', 'spacy', '--threshold', '0', 'x Paris y');
  const sp = spacy.status === 0 ? JSON.parse(spacy.stdout) : null;
  if (!sp || sp.text !== 'x Paris y' || !Array.isArray(sp.ents) || sp.ents.some((e: { start: number; end: number; label: string }) => e.label !== 'LOC' || !(e.end > e.start))) throw new Error(`--output spacy: ${spacy.stdout} ${spacy.stderr}`);
  oneLineError(cliWith('\n  \n', 'predict', '--model', model), /no text to tag/, 'empty input');
  oneLineError(cliWith(Buffer.from([0x61, 0x0a, 0x62, 0xff, 0xfe, 0x0a]), 'predict', '--model', model), /stdin:2: invalid UTF-8/, 'invalid UTF-8');
  oneLineError(cli('predict', '--model', join(dir, 'nope'), 'x'), /nope: no such model folder/, 'missing model');
  oneLineError(cli('eval', '--model', join(dir, 'nope'), '--data', join(dir, 'train.jsonl')), /nope: no such model folder/, 'eval of a missing model');
  // npm start's program on a given model folder and text; export writes an f16 copy that still loads.
  const ex = cli('export', '--model', model, '--out', join(dir, 'small'), '--f16');
  if (ex.status !== 0 || !/wrote .*f16/.test(ex.stdout)) throw new Error(`export: ${ex.stdout} ${ex.stderr}`);
  if (JSON.parse(readFileSync(join(dir, 'small', 'selection.json'), 'utf8')).threshold !== selection.threshold) throw new Error('export must keep the chosen φ');
  // Checkpoint averaging: the trained model and its f16 copy average into a folder that eval reads.
  const avg = cli('average', '--out', join(dir, 'avg'), model, join(dir, 'small'));
  if (avg.status !== 0 || !/the mean of 2 models/.test(avg.stdout)) throw new Error(`average: ${avg.stdout} ${avg.stderr}`);
  if (cli('eval', '--model', join(dir, 'avg'), '--data', join(dir, 'train.jsonl')).status !== 0) throw new Error('eval of the averaged model');
  oneLineError(cli('average', '--out', join(dir, 'avg2'), model), /at least two model folders/, 'average of one folder');
  oneLineError(cli('average', '--out', model, model, join(dir, 'small')), /is one of the folders being averaged/, 'average into an input');
  // The finished run's progress: its one epoch (both steps, dev F1 at the chosen φ) and its test score.
  const pr = cli('progress', join(dir, 'run'));
  if (pr.status !== 0 || !new RegExp(`^1 +2 +\\d+ +[\\d.]+ +[\\d.]+ +[\\d.]+ +[\\d.]+ +[\\d.]+ \\(${selection.threshold}\\)$`, 'm').test(pr.stdout) || !/^state: done; 1 epoch\(s\) finished, 2 optimiser steps so far\ntest \(φ [\d.]+\): P [\d.]+ R [\d.]+ F1 [\d.]+$/m.test(pr.stdout)) {
    throw new Error(`progress: ${pr.stdout} ${pr.stderr}`);
  }
  if (JSON.parse(cli('progress', join(dir, 'run'), '--json').stdout).epochs[0].steps !== 2) throw new Error('progress --json');
  oneLineError(cli('progress', join(dir, 'nope')), /nope: no such run folder/, 'progress of a missing folder');
  const start = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'x w1 Paris y'], {
    encoding: 'utf8', env: { ...process.env, DNER_DEVICE: 'cpu', DNER_MODEL: join(dir, 'small') }, timeout: 120_000,
  });
  if (start.status !== 0 || !start.stdout.includes('x w1 Paris y\n  -> ') || !/How it was denoised/.test(start.stdout) || !/--html trace\.html/.test(start.stdout)) {
    throw new Error(`npm start: ${start.stdout} ${start.stderr}`);
  }
  // npm start takes documents from a file (a .jsonl file's text fields or tokens) or from stdin, a document per line.
  const startWith = (args: string[], input?: string) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
    encoding: 'utf8', input, env: { ...process.env, DNER_DEVICE: 'cpu', DNER_MODEL: join(dir, 'small') }, timeout: 120_000,
  });
  writeFileSync(join(dir, 'start.jsonl'), [JSON.stringify({ text: 'x w2 Paris y' }), '', JSON.stringify({ tokens: ['Paris', 'w1'] })].join('\n') + '\n');
  const fromFile = startWith(['--file', join(dir, 'start.jsonl')]);
  if (fromFile.status !== 0 || !fromFile.stdout.includes('x w2 Paris y\n  -> ') || !fromFile.stdout.includes('Paris w1\n  -> ')) throw new Error(`npm start --file: ${fromFile.stdout} ${fromFile.stderr}`);
  const fromStdin = startWith(['-'], 'w1 Paris\n\ny x Paris\n');
  if (fromStdin.status !== 0 || !fromStdin.stdout.includes('w1 Paris\n  -> ') || !fromStdin.stdout.includes('y x Paris\n  -> ')) throw new Error(`npm start -: ${fromStdin.stdout} ${fromStdin.stderr}`);
  oneLineError(startWith(['--file', join(dir, 'absent.txt')]), /^npm start: .*absent\.txt: no such file \(--file\)\n?$/, 'npm start --file of a missing file');
  writeFileSync(join(dir, 'bad.jsonl'), '{"text": "ok"}\n{"txt": "no"}\n');
  oneLineError(startWith(['--file', join(dir, 'bad.jsonl')]), /^npm start: .*bad\.jsonl:2: no text/, 'npm start --file with a bad JSONL line');
  // Data files instead of a config: the default settings.
  const flags = cli('train', '--train', join(dir, 'train.jsonl'), '--max-steps', '1', '--out', join(dir, 'flags'));
  if (flags.status !== 0 || !existsSync(join(dir, 'flags', 'model', 'config.json'))) throw new Error(`train with flags: ${flags.stderr}`);
  if (JSON.parse(readFileSync(join(dir, 'flags', 'model', 'config.json'), 'utf8')).hidden !== 256) throw new Error('default settings not used');
  // Nested gold under flat filtering caps recall without a sound: train and eval say so.
  writeFileSync(join(dir, 'nested.jsonl'), JSON.stringify({ tokens: ['x', 'w1', 'Paris', 'y'], entities: [{ start: 1, end: 3, type: 'LOC' }, { start: 2, end: 3, type: 'LOC' }] }) + '\n');
  if (cli('train', '--train', join(dir, 'nested.jsonl'), '--max-steps', '1', '--out', join(dir, 'nested')).status !== 0) throw new Error('training on nested data');
  if (!/warning: 1 training entities contain another, but eval\.mode is flat/.test(readFileSync(join(dir, 'nested', 'train.log'), 'utf8'))) throw new Error('train did not warn of flat filtering on nested data');
  const flatOnNested = cli('eval', '--model', model, '--data', join(dir, 'nested.jsonl'));
  if (flatOnNested.status !== 0 || !/warning: 1 entities of nested\.jsonl contain another, but filtering is flat/.test(flatOnNested.stderr)) throw new Error(`eval did not warn of flat filtering on nested data: ${flatOnNested.stderr}`);
  const nestedOnNested = cli('eval', '--model', model, '--data', join(dir, 'nested.jsonl'), '--mode', 'nested');
  if (nestedOnNested.status !== 0 || /warning/.test(nestedOnNested.stderr)) throw new Error(`eval --mode nested warned: ${nestedOnNested.stderr}`);
  // Several training files are one training set (the official CoNLL-2003 and GENIA runs train on train + dev).
  const two = (train: string[]) => JSON.stringify({ data: { train }, model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8 }, train: { epochs: 1, batch: 3, lr: 1e-3, maxSteps: 1 }, out: join(dir, 'two') });
  writeFileSync(join(dir, 'two.json'), two(['train.jsonl', join(dir, 'train.jsonl')]));
  const tt = cli('train', '--config', join(dir, 'two.json'));
  if (tt.status !== 0 || !readFileSync(join(dir, 'two', 'train.log'), 'utf8').includes('train: 12 sentences, 12 entities')) throw new Error(`two training files: ${tt.stderr}`);
  // Plain text is split as the training data writes clitics: GENIA keeps "Burkitt's" whole, CoNLL-2003 splits it.
  writeFileSync(join(dir, 'genia.jsonl'), ['Burkitt\'s lymphoma', 'Hashimoto\'s cells', 'the cell \'s lines'].map((t) => JSON.stringify({ tokens: t.split(' '), entities: [{ start: 0, end: 2, type: 'LOC' }] })).join('\n'));
  writeFileSync(join(dir, 'two.json'), two(['genia.jsonl']));
  if (cli('train', '--config', join(dir, 'two.json'), '--out', join(dir, 'genia')).status !== 0) throw new Error('training on attached clitics');
  if (JSON.parse(readFileSync(join(dir, 'genia', 'model', 'config.json'), 'utf8')).clitics !== 'attached') throw new Error('the clitic style was not inferred');
  const tokensOf = (folder: string) => JSON.parse(cli('predict', '--model', folder, '--json', "Burkitt's lymphoma").stdout).sentences[0].tokens.join('|');
  if (tokensOf(join(dir, 'genia', 'model')) !== "Burkitt's|lymphoma" || tokensOf(join(dir, 'run', 'model')) !== "Burkitt|'s|lymphoma") throw new Error('predict does not follow the model\'s clitic style');
  // A folder from before models recorded the style, continued with --init, gets it from the training data.
  const geniaConfig = join(dir, 'genia', 'model', 'config.json');
  const { clitics: _recorded, ...older } = JSON.parse(readFileSync(geniaConfig, 'utf8'));
  writeFileSync(geniaConfig, JSON.stringify(older));
  if (cli('train', '--config', join(dir, 'two.json'), '--init', join(dir, 'genia', 'model'), '--out', join(dir, 'genia2')).status !== 0) throw new Error('--init from an older folder');
  if (JSON.parse(readFileSync(join(dir, 'genia2', 'model', 'config.json'), 'utf8')).clitics !== 'attached') throw new Error('--init from a folder without a clitic style');
  // Text splitting is not architecture: such folders still average.
  const mixed = cli('average', '--out', join(dir, 'genia-avg'), join(dir, 'genia', 'model'), join(dir, 'genia2', 'model'));
  if (mixed.status !== 0) throw new Error(`averaging folders that differ in clitic style: ${mixed.stderr}`);
  writeFileSync(join(dir, 'two.json'), two(['train.jsonl', 'gone.jsonl']));
  oneLineError(cli('train', '--config', join(dir, 'two.json')), /gone\.jsonl: no such file \(data\.train\)/, 'a missing second training file');
  oneLineError(cli('train', '--config', join(dir, 'cfg.json'), '--train', 'x.jsonl'), /not both/, 'config and flags');
  oneLineError(cli('train', '--train', join(dir, 'missing.jsonl')), /missing\.jsonl: no such file \(data\.train\)/, 'missing data file');
  // A warm start: --init takes a trained model folder; --lr and --seed override the config.
  const warm = cli('train', '--config', join(dir, 'cfg.json'), '--init', join(dir, 'run', 'model'), '--out', join(dir, 'warm'), '--lr', '5e-4', '--seed', '7', '--max-steps', '1');
  const warmLog = existsSync(join(dir, 'warm', 'train.log')) ? readFileSync(join(dir, 'warm', 'train.log'), 'utf8') : '';
  if (warm.status !== 0 || !warmLog.includes(`initialised from ${join(dir, 'run', 'model')}`)) throw new Error(`train --init: ${warm.stderr}`);
  const firstStep = JSON.parse(readFileSync(join(dir, 'warm', 'steps.jsonl'), 'utf8').split('\n')[0]);
  if (firstStep.lr !== 5e-4) throw new Error(`--lr: the first step ran at ${firstStep.lr}`);
  oneLineError(cli('train', '--config', join(dir, 'cfg.json'), '--init', join(dir, 'nowhere')), /nowhere: no such model folder \(--init\)/, 'a missing --init folder');
  oneLineError(cli('train', '--config', join(dir, 'cfg.json'), '--lr', '0'), /--lr must be a positive number, got '0'/, 'a zero learning rate');
  oneLineError(cli('train', '--config', join(dir, 'cfg.json'), '--seed', '1.5'), /--seed must be a whole number >= 0, got '1\.5'/, 'a fractional seed');
  oneLineError(cli('train', '--config', join(dir, 'cfg.json'), '--epochs', '0'), /--epochs must be a whole number >= 1, got '0'/, 'zero epochs');
  oneLineError(cli('train', '--config', join(dir, 'cfg.json'), '--max-steps', '2.5'), /--max-steps must be a whole number >= 1, got '2\.5'/, 'fractional steps');
  oneLineError(cli('predict', '--model', model, '--file', dir), /: not a file \(--file\)/, 'a folder as --file');
  // A folder missing its weights is named as such, not as a raw ENOENT.
  mkdirSync(join(dir, 'noweights'), { recursive: true });
  for (const f of ['config.json', 'vocab.txt']) writeFileSync(join(dir, 'noweights', f), readFileSync(join(model, f)));
  oneLineError(cli('eval', '--model', join(dir, 'noweights'), '--data', join(dir, 'train.jsonl')), /noweights: not a model folder \(no model\.safetensors\)/, 'a folder without weights');
  // Editors on some systems save JSON with a byte-order mark: configs read like data files.
  writeFileSync(join(dir, 'bom.json'), '\uFEFF' + readFileSync(join(dir, 'cfg.json'), 'utf8').replace(join(dir, 'run'), join(dir, 'bom')));
  const bom = cli('train', '--config', join(dir, 'bom.json'), '--max-steps', '1');
  if (bom.status !== 0) throw new Error(`a config with a byte-order mark: ${bom.stderr}`);
  oneLineError(cli('eval', '--model', model, '--data', join(dir, 'train.jsonl'), '--threshhold', '2'), /unknown option --threshhold \(did you mean --threshold\?\)/, 'a misspelled option');
  // Another command's flag is refused, not silently dropped: export copies selection.json and never reads φ.
  oneLineError(cli('export', '--model', model, '--out', join(dir, 'exported'), '--threshold', '1.5', '--f16'), /export does not take --threshold \(diffusionner export --help/, 'a flag export does not read');
  oneLineError(cli('average', '--out', join(dir, 'avg3'), model, model, '--device', 'cpu', '--mode', 'flat'), /average does not take --device/, 'flags average does not read');
  oneLineError(cli('train', '--config', join(dir, 'cfg.json'), '--mode', 'nested'), /train takes --mode only with data files; with --config the config's eval\.mode says it/, 'train --config with --mode');
  oneLineError(cli('eval', '--model', model, '--data', join(dir, 'nothere.jsonl')), /nothere\.jsonl: no such file \(--data\)/, 'a missing --data file');
  // Several quoted texts are several documents; bare words are one.
  const texts = cli('predict', '--model', model, '--json', 'x w1 Paris y', 'Paris y');
  const bare = cli('predict', '--model', model, '--json', 'x', 'w1', 'Paris', 'y');
  if (texts.status !== 0 || texts.stdout.trim().split('\n').length !== 2 || bare.status !== 0 || bare.stdout.trim().split('\n').length !== 1) throw new Error(`predict texts: ${texts.stdout} ${bare.stdout} ${texts.stderr}`);
  if (!readFileSync(join(dir, 'run', 'train.log'), 'utf8').includes(`saved: ${join(dir, 'run', 'model')} (the best epoch on dev`)) throw new Error('the log does not say where the model is');
  const none = cli('frobnicate');
  if (none.status === 0 || !/unknown command 'frobnicate'/.test(none.stderr)) throw new Error(none.stderr);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
