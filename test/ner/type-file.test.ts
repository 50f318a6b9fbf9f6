/**
 * A types file may carry a description per type (models that read descriptions, BINDER, use them): a
 * JSON object {TYPE: "description"} or a JSON list of names and {name, description?} objects. The
 * formats without descriptions read as before.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import { readTypeFile, readTypes } from '../../src/ner/data.js';
import { assertThrows } from '../helpers.js';

const s = suite('types files with descriptions');
const dir = mkdtempSync(join(tmpdir(), 'dner-types-'));
const write = (name: string, text: string) => { const f = join(dir, name); writeFileSync(f, text); return f; };

s('an object of descriptions, in its order', () => {
  const t = readTypeFile(write('d.json', '{"PER": "a person entity", "LOC": "a place"}'));
  if (t.types.join() !== 'PER,LOC' || t.descriptions.PER !== 'a person entity' || t.descriptions.LOC !== 'a place') throw new Error(JSON.stringify(t));
  if (readTypes(write('d2.json', '{"PER": "a person entity"}')).join() !== 'PER') throw new Error('readTypes reads it too');
});

s('a list of names and {name, description} objects, mixed', () => {
  const t = readTypeFile(write('l.json', '[{"name": "PER", "description": "people"}, "LOC", {"name": "ORG"}]'));
  if (t.types.join() !== 'PER,LOC,ORG' || JSON.stringify(t.descriptions) !== '{"PER":"people"}') throw new Error(JSON.stringify(t));
});

s('the formats without descriptions are unchanged and carry none', () => {
  for (const [name, text, want] of [['o.json', '{"entities": {"PER": {"short": "PER", "verbose": "person"}, "ORG": {}}, "relations": {}}', 'PER,ORG'], ['t.txt', 'DNA\nRNA\n', 'DNA,RNA'], ['a.json', '["A", "B"]', 'A,B']]) {
    const t = readTypeFile(write(name, text));
    if (t.types.join() !== want || Object.keys(t.descriptions).length) throw new Error(`${name}: ${JSON.stringify(t)}`);
  }
});

s('bad descriptions and fields are one-line errors naming the file', async () => {
  await assertThrows(() => readTypeFile(write('e1.json', '{"PER": ""}')), /e1\.json: type 'PER': the description must be a non-empty string/);
  await assertThrows(() => readTypeFile(write('e2.json', '{"PER": "x", "LOC": 3}')), /e2\.json: expected a list of types, an object with an 'entities' map, or an object of type descriptions/);
  await assertThrows(() => readTypeFile(write('e3.json', '[{"name": "PER", "desc": "x"}]')), /e3\.json: type 0: unknown field 'desc'/);
  await assertThrows(() => readTypeFile(write('e4.json', '[{"name": "PER", "description": 5}]')), /e4\.json: type 0: the description must be a non-empty string/);
  await assertThrows(() => readTypeFile(write('e5.json', '[{"description": "x"}]')), /e5\.json: type 0 must be a non-empty string/);
  await assertThrows(() => readTypeFile(write('e6.json', '[{"name": "A", "description": "x"}, "A"]')), /e6\.json: a type is listed twice/);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
