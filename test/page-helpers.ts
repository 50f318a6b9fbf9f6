/**
 * The trace pages in a real browser, for their tests: Debian's chromium, headless, as
 * ../shared/reference/machine-notes.md starts it; a page file opened in a tab that records console errors,
 * page errors and every request for anything but a file; what a page shows read back through its data-*
 * attributes; screenshots into test/output/ (git-ignored). And the checks on a page's HTML as a string.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import * as assert from 'uvu/assert';

export const CHROMIUM = '/usr/bin/chromium';
const outDir = join(fileURLToPath(new URL('.', import.meta.url)), 'output');

/** A word that, were it to close the page's script, would run the next script and set window.pwned. */
export const NASTY = '</script><script>window.pwned=1</script><!--';

/** True (with a warning) where chromium is not installed, so a test can skip; under CI its absence is an error. */
export function chromiumMissing(): boolean {
  if (existsSync(CHROMIUM)) return false;
  // setup installs it on Debian as root; elsewhere say so loudly instead of passing silently.
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing (npm test's setup installs Debian's chromium)`);
  console.warn(`  SKIPPED: ${CHROMIUM} not installed (apt-get install chromium)`);
  return true;
}

export async function withBrowser(run: (b: Browser) => Promise<void>): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Playwright adds --headless and a fresh empty --user-data-dir itself.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try { await run(browser); } finally { await browser.close(); }
}

/**
 * Writes `html` to a file of a new temporary folder and opens it in a new tab of `browser`, `width` × 900,
 * whose console errors, page errors and requests for anything but a file go to `errors`; runs `use`; then
 * removes the folder.
 */
export async function withPage<R>(browser: Browser, html: string, width: number, use: (tab: Page, errors: string[]) => Promise<R>): Promise<R> {
  const dir = mkdtempSync(join(tmpdir(), 'trace-page-'));
  const page = join(dir, 'trace.html');
  writeFileSync(page, html);
  try {
    const tab = await browser.newPage({ viewport: { width, height: 900 } });
    const errors: string[] = [];
    tab.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    tab.on('pageerror', (e) => errors.push(e.message));
    tab.on('request', (r) => { if (!r.url().startsWith('file:')) errors.push(`network request: ${r.url()}`); });
    await tab.goto(pathToFileURL(page).href);
    return await use(tab, errors);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fails on what the tab recorded: console errors, page errors, network requests. */
export function assertNoErrors(errors: readonly string[]): void {
  if (errors.length) throw new Error(`console errors: ${errors.join('; ')}`);
}

/** A full-page screenshot of the tab into test/output/`name`. */
export async function screenshot(tab: Page, name: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await tab.screenshot({ path: join(outDir, name), fullPage: true });
}

/** What every trace page shows of each trace: its layer table's rows (as text cells) and its sentence's text. */
export interface PageTraceRead { layerRows: string[][]; sentence: string }

/** What a trace page shows: per trace what `fields` reads, the how-to lines, the comparison table's rows, the title, and whether a word ran as script. */
export interface PageRead<G> { traces: (G & PageTraceRead)[]; howto: number; compareRows: number; title: string; pwned: string }

/**
 * Reads the open trace page: for each `[data-trace]` section the fields of `fields` (object literal entries,
 * each ending in a comma, with `tr` the section and `all(selector, root = document)` an array of matches)
 * besides PageTraceRead's, and the page's own.
 */
export async function readTracePage<G>(tab: Page, fields: string): Promise<PageRead<G>> {
  // A string, not a function: tsx's transform would name the helpers with a __name the page lacks.
  return await tab.evaluate(`(() => {
    const all = (sel, root = document) => [...root.querySelectorAll(sel)];
    return {
      traces: all('[data-trace]').map((tr) => ({
        ${fields}
        layerRows: all('[data-layer-table] tr', tr).slice(1).map((r) => all('td', r).map((c) => c.textContent)),
        sentence: tr.querySelector('[data-sentence]').textContent,
      })),
      howto: all('#howto li').length,
      compareRows: all('[data-compare-table] tr').length,
      title: document.title,
      pwned: typeof window.pwned,
    };
  })()`) as PageRead<G>;
}

/** What a page of `traces` traces by `model` (BOPN, BINDER) must show once open: no error, `howto` how-to lines or more, no word run as script, its title, a section per trace. */
export function assertPageShell(got: PageRead<unknown>, errors: readonly string[], o: { model: string; howto: number; traces: number }): void {
  assertNoErrors(errors);
  assert.ok(got.howto >= o.howto, `${got.howto} lines on how to read the page`);
  assert.is(got.pwned, 'undefined', 'a word ran as script');
  assert.ok(got.title.startsWith(`${o.model} trace: `), got.title);
  assert.is(got.traces.length, o.traces, 'traces drawn');
}

/**
 * A trace page's HTML loads nothing (no element that fetches, no src or href, no @import, no url() but the
 * page's own `url(#id)` where `urlIds` allows them, the SVG namespace its only URL) and holds exactly its
 * two scripts and no comment, so no word can close or comment out the script; returns its embedded data.
 */
export function assertSelfContained(html: string, o: { urlIds: boolean }): { traces: { tokens: string[]; label: string }[] } {
  assert.not.match(html, /<(link|img|iframe|object|embed|audio|video|source|base)\b/i);
  assert.not.match(html, /\s(src|href)\s*=/i);
  assert.not.match(html, /@import/i);
  if (o.urlIds) assert.not.match(html, /url\((?!#)/i, 'only url(#id) references to the page\'s own markers');
  else assert.not.match(html, /url\(/i);
  const urls = html.match(/https?:\/\/[^\s'"<>)]+/g) ?? [];
  assert.equal([...new Set(urls)], ['http://www.w3.org/2000/svg'], 'the SVG namespace is the only URL');
  // Exactly the page's own two scripts open and close; no word can open a comment in script data either.
  assert.is((html.match(/<script/gi) ?? []).length, 2);
  assert.is((html.match(/<\/script/gi) ?? []).length, 2);
  assert.not.ok(html.includes('<!--'));
  // The embedded JSON, to check that it carries the words faithfully.
  const json = /<script type="application\/json" id="trace">([\s\S]*?)<\/script>/.exec(html)![1];
  return JSON.parse(json) as { traces: { tokens: string[]; label: string }[] };
}
