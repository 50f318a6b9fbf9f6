/**
 * BINDER's type descriptions: the built-in sets (CoNLL-2003 and GENIA from the official entity_types.json,
 * NCBI-disease ours) found by the training types, the types file's own descriptions taking precedence, a
 * clear error for a type without one, and the vocabulary grown by the description words.
 */
import { suite } from 'uvu';
import { withDescriptions } from '../../../src/models/binder/index.js';
import type { BinderConfig } from '../../../src/models/binder/config.js';
import { BUILT_IN_DESCRIPTIONS, builtInSet, descriptionTokens, typeDescriptions } from '../../../src/models/binder/descriptions.js';
import { assertThrows } from '../../helpers.js';

const s = suite('binder descriptions');

s('the built-in sets are found by the types, in the types\' order; a subset of one set is found too', () => {
  const conll = typeDescriptions(['PER', 'ORG', 'LOC', 'MISC']);
  if (!conll[0].startsWith('a person entity is limited to human') || !conll[3].startsWith('examples of miscellaneous entities')) throw new Error(conll.join(' | '));
  const genia = typeDescriptions(['protein', 'DNA', 'RNA', 'cell_type', 'cell_line']);
  if (!genia[0].startsWith('Protein is Linear POLYPEPTIDES') || !genia[4].startsWith('Cell line are cells propagated in vitro')) throw new Error(genia.join(' | '));
  if (!typeDescriptions(['Disease'])[0].startsWith('disease entities are')) throw new Error('NCBI-disease');
  if (builtInSet(['LOC', 'PER'])?.dataset !== 'CoNLL-2003' || builtInSet(['PER', 'protein']) !== undefined) throw new Error('subset lookup');
  if (!BUILT_IN_DESCRIPTIONS.find((x) => x.dataset === 'NCBI-disease')!.source.includes('this project')) throw new Error('NCBI-disease is ours and says so');
});

s('the types file\'s descriptions come first; the others from the set that covers them', () => {
  const d = typeDescriptions(['PER', 'LOC', 'EVENT'], { EVENT: 'an event entity is something that happens.', PER: 'people.' });
  if (d[0] !== 'people.' || !d[1].startsWith('location entities') || d[2] !== 'an event entity is something that happens.') throw new Error(d.join(' | '));
});

s('a type without a description is an error that names it and says where to give one', async () => {
  await assertThrows(() => typeDescriptions(['person', 'location']), /'person', 'location' have none: give them in the types file \(data\.types or --types\), e\.g\. \{"person": .*typeInputs to "embeddings"/);
  await assertThrows(() => typeDescriptions(['PER', 'EVENT']), /'PER', 'EVENT' have none/);
});

s('a new model\'s vocabulary and characters gain the description words it lacks, once, lower-cased with the encoder', () => {
  const base = { vocab: ['[PAD]', '[UNK]', 'a', 'person'], chars: ['<pad>', '<unk>', 'a'], hidden: 8, types: ['PER'], charEmbedding: 4 } as BinderConfig;
  const c = withDescriptions(base, { PER: 'A person , a Person .' });
  if (c.vocab.join(' ') !== '[PAD] [UNK] a person A , Person .' || c.descriptions![0] !== 'A person , a Person .') throw new Error(c.vocab.join(' '));
  if (c.chars!.slice(2).join('') !== 'aAperson,P.') throw new Error(c.chars!.join(' '));
  const lower = withDescriptions({ ...base, lowercase: true }, { PER: 'A person , a Person .' });
  if (lower.vocab.join(' ') !== '[PAD] [UNK] a person , .') throw new Error(lower.vocab.join(' '));
  if (withDescriptions({ ...base, typeInputs: 'embeddings', types: ['X'] }).vocab.length !== 4) throw new Error('embeddings: no descriptions, no new words');
  if (descriptionTokens("Burkitt's lymphoma, e.g.", 'split').join(' ') !== "Burkitt 's lymphoma , e.g .") throw new Error(descriptionTokens("Burkitt's lymphoma, e.g.", 'split').join(' '));
});

s.run();
