/**
 * The trace page in a real browser (Debian's chromium, headless, as ../shared/reference/machine-notes.md
 * starts it): it renders with no console errors and shows as many steps and spans as the trace holds.
 * A screenshot goes to test/output/trace.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { traceSentence } from '../../src/models/diffusionner/trace.js';
import { renderTraceHtml } from '../../src/models/diffusionner/trace-html.js';

const s = suite('trace HTML page in headless Chromium');
const CHROMIUM = '/usr/bin/chromium';
const outDir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'output');

s('renders every step and span of the trace, heatmaps, entities and the schedule, with no console errors', async () => {
  if (!existsSync(CHROMIUM)) {
    // setup installs it on Debian as root; elsewhere say so loudly instead of passing silently.
    if (process.env.CI) throw new Error(`${CHROMIUM} is missing (npm test's setup installs Debian's chromium)`);
    console.warn(`  SKIPPED: ${CHROMIUM} not installed (apt-get install chromium)`);
    return;
  }
  const tokens = ['Alice', 'flew', 'from', 'New', 'York', 'to', '<Paris>', '&', 'back', '.'];
  const vocab = ['[PAD]', '[UNK]', ...new Set(tokens)];
  const model = new DiffusionNER({ vocab, types: ['PER', 'LOC'], hidden: 16, lstmLayers: 1, proposals: 7, heads: 2, ffn: 16, dropout: 0 }, { device: T.cpu, rng: new T.RNG(3) });
  // An untrained classifier says None everywhere: bias it to PER, and take φ = 0, so spans are kept.
  // A zero left-pointer vector makes P(left) flat, so the left boundary is word 0 and spans are well-formed.
  model.decoder.classifier.l2.bias!.copyFrom([0, 5, 0]);
  model.decoder.leftPointer.w.copyFrom(new Float32Array(16));
  const trace = await traceSentence(model, T.cpu, tokens, { steps: 3, threshold: 0, mode: 'flat' });
  model.dispose();
  mkdirSync(outDir, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'dner-html-'));
  const page = join(dir, 'trace.html');
  writeFileSync(page, renderTraceHtml(trace));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Playwright adds --headless and a fresh empty --user-data-dir itself.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    tab.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    tab.on('pageerror', (e) => errors.push(e.message));
    tab.on('request', (r) => { if (!r.url().startsWith('file:')) errors.push(`network request: ${r.url()}`); });
    await tab.goto(pathToFileURL(page).href);
    const counts = await tab.evaluate(() => ({
      steps: document.querySelectorAll('[data-step]').length,
      spansPerStep: [...document.querySelectorAll('[data-step]')].map((e) => e.querySelectorAll('[data-span]').length),
      heatmaps: document.querySelectorAll('[data-heatmap]').length,
      entities: document.querySelectorAll('[data-entity]').length,
      sentence: document.getElementById('sentence')!.textContent,
    }));
    await tab.screenshot({ path: join(outDir, 'trace.png'), fullPage: true });
    if (errors.length) throw new Error(`console errors: ${errors.join('; ')}`);
    if (counts.steps !== trace.steps.length) throw new Error(`${counts.steps} steps drawn, trace has ${trace.steps.length}`);
    if (counts.spansPerStep.some((n) => n !== trace.options.proposals)) throw new Error(`spans per step ${counts.spansPerStep}, K = ${trace.options.proposals}`);
    if (counts.heatmaps !== 2) throw new Error(`${counts.heatmaps} heatmaps`);
    if (counts.entities !== trace.entities.length || trace.entities.length === 0) throw new Error(`${counts.entities} entity rows, trace has ${trace.entities.length}`);
    if (!counts.sentence!.includes('<Paris> &')) throw new Error(`sentence text not escaped faithfully: ${counts.sentence}`);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

s.run();
