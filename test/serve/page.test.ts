/**
 * The server's page in headless Chromium, against a real server holding the bundled GENIA model on the
 * test device: paste text, tag it, and see nested entities as marks inside marks, each type coloured and
 * labelled, scores on hover; a sentence's trace link opens its trace page. No console errors; a
 * screenshot goes to test/output/serve-page.png. Text that looks like HTML stays text.
 */
import { suite } from 'uvu';
import { startServer } from '../../src/serve/server.js';
import { DEVICES } from '../helpers.js';
import { chromiumMissing, NASTY, screenshot, withBrowser } from '../page-helpers.js';

const s = suite('serve: the page');

const TEXT = 'The human interferon beta ( IFN-beta ) regulatory element consists of multiple enhanson domains which are targets for transcription factors involved in inducible expression of the promoter .\n'
  + `Activation of the human IL-2 promoter requires NF-AT in Jurkat T cells . ${NASTY}`;

interface Mark { type: string; title: string; text: string; depth: number; background: string }

s('tagging pasted text shows nested, coloured, labelled entities with scores, and links each sentence to its trace', async () => {
  if (chromiumMissing()) return;
  const device = DEVICES.at(-1)!;
  const server = await startServer({ models: [{ name: 'genia', dir: 'genia' }], device, port: 0 });
  try {
    await server.ready;
    await withBrowser(async (browser) => {
      const tab = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const errors: string[] = [];
      tab.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      tab.on('pageerror', (e) => errors.push(e.message));
      tab.on('request', (r) => { if (!r.url().startsWith(server.url)) errors.push(`request outside the server: ${r.url()}`); });
      await tab.goto(server.url);
      if ((await tab.locator('#model option').allTextContents()).join() !== 'genia') throw new Error('model list');
      await tab.fill('#text', TEXT);
      await tab.click('#go');
      await tab.waitForSelector('.doc mark');
      const marks: Mark[] = await tab.$$eval('.doc mark', (ms) => ms.map((m) => {
        let depth = 0;
        for (let p = m.parentElement; p; p = p.parentElement) if (p.tagName === 'MARK') depth++;
        return { type: (m as HTMLElement).dataset.type!, title: m.getAttribute('title')!, text: m.textContent!, depth, background: (m as HTMLElement).style.background };
      }));
      const nested = marks.filter((m) => m.depth > 0);
      if (!nested.length) throw new Error(`no nested entity shown: ${JSON.stringify(marks)}`);
      if (!marks.some((m) => m.type === 'DNA' && /human interferon beta/.test(m.text) && m.depth === 0)) throw new Error(`the outer DNA entity is missing: ${JSON.stringify(marks)}`);
      for (const m of marks) {
        if (!new RegExp(`^${m.type} · score [01]\\.\\d{3} · "`).test(m.title)) throw new Error(`hover text: ${m.title}`);
        if (!/^(hsla|rgba)\(/.test(m.background)) throw new Error(`no colour: ${JSON.stringify(m)}`);
      }
      const colours = new Map(marks.map((m) => [m.type, m.background]));
      if (new Set(colours.values()).size !== colours.size) throw new Error(`two types share a colour: ${JSON.stringify([...colours])}`);
      // The page's text is the document, character for character: the marks only wrap it (labels aside).
      const shown = await tab.$eval('.doc', (d) => { const c = d.cloneNode(true) as HTMLElement; c.querySelectorAll('.label').forEach((l) => l.remove()); return c.textContent; });
      if (shown !== TEXT) throw new Error(`the page changed the text: ${shown}`);
      if (await tab.evaluate(() => (window as unknown as { pwned?: number }).pwned)) throw new Error('text ran as script');
      const found = Number(/^(\d+) entities in \d+ ms$/.exec(await tab.textContent('#status') ?? '')?.[1]);
      const rows = await tab.$$eval('table tr', (r) => r.length);
      if (!(found >= marks.length - 1) || rows !== found + 1) throw new Error(`status says ${found} entities; ${marks.length} marks, ${rows} table rows`);
      await screenshot(tab, 'serve-page.png');
      const links = await tab.$$eval('.sentences a', (as) => as.map((a) => (a as HTMLAnchorElement).href));
      if (links.length !== 2 || !links[1].includes('sentence=Activation%20of%20the%20human')) throw new Error(`trace links: ${links}`);
      await tab.goto(links[1]);
      if (!/trace/i.test(await tab.title())) throw new Error(`trace page title: ${await tab.title()}`);
      if (errors.length) throw new Error(`console errors: ${errors.join('; ')}`);
    });
  } finally {
    await server.close();
  }
});

s.run();
