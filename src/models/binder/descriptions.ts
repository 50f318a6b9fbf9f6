/**
 * The type descriptions BINDER's type encoder reads, built in for the data sets of ../shared/data, and
 * the lookup that gives a new model one description per type.
 *
 * CoNLL-2003 and GENIA: descriptions from microsoft/binder entity_types.json, MIT licence
 * (Copyright (c) Microsoft Corporation), quoted verbatim: CoNLL-2003's PER, ORG and LOC from the ACE2005
 * annotation guidelines and MISC from the MRC4NER repository; GENIA's from UMLS definitions.
 * NCBI-disease: the official code has no description for it; the one below is ours (this project's),
 * written after the NCBI disease corpus guidelines (specific diseases, disease classes, composite
 * mentions and modifiers).
 *
 * The notice of the quoted descriptions (microsoft/binder, MIT License):
 *   Copyright (c) Microsoft Corporation.
 *   Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
 *   associated documentation files (the "Software"), to deal in the Software without restriction,
 *   including without limitation the rights to use, copy, modify, merge, publish, distribute,
 *   sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
 *   furnished to do so, subject to the following conditions: The above copyright notice and this
 *   permission notice shall be included in all copies or substantial portions of the Software.
 *   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
 *   NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 *   NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
 *   DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
 *   OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 */
import { type CliticStyle, tokenizeText } from '../../text/tokenize.js';

export interface DescriptionSet {
  /** The data set the descriptions were written for. */
  dataset: string;
  /** Where they come from. */
  source: string;
  descriptions: Readonly<Record<string, string>>;
}

export const BUILT_IN_DESCRIPTIONS: readonly DescriptionSet[] = [
  {
    dataset: 'CoNLL-2003',
    source: 'microsoft/binder entity_types.json (MIT): ACE2005 annotation guidelines; MISC from the MRC4NER repository',
    descriptions: {
      PER: 'a person entity is limited to human including a single individual or a group.',
      ORG: 'organization entities are limited to companies, corporations, agencies, institutions and other groups of people.',
      LOC: 'location entities are limited to geographical entities such as geographical areas and landmasses, mountains, bodies of water, and geological formations.',
      MISC: 'examples of miscellaneous entities include events, nationalities, products and works of art.',
    },
  },
  {
    dataset: 'GENIA',
    source: 'microsoft/binder entity_types.json (MIT): UMLS definitions',
    descriptions: {
      DNA: 'DNA, which consists of a polysugar-phosphate backbone possessing projections of purines and pyrimidines, forms a double helix that is held together by hydrogen bonds between these purines and pyrimidines.',
      RNA: 'RNA is a polynucleotide consisting essentially of chains with a repeating backbone of phosphate and ribose units to which nitrogenous bases are attached.',
      protein: 'Protein is Linear POLYPEPTIDES that are synthesized on RIBOSOMES and may be further modified, crosslinked, cleaved, or assembled into complex proteins with several subunits. The specific sequence of AMINO ACIDS determines the shape the polypeptide will take, during PROTEIN FOLDING, and the function of the protein.',
      cell_line: 'Cell line are cells propagated in vitro in special media conducive to their growth. Cultured cells are used to study developmental, morphologic, metabolic, physiologic, and genetic processes, among others.',
      cell_type: 'Cells are the fundamental, structural, and functional units or subunits of living organisms. They are composed of CYTOPLASM containing various ORGANELLES and a CELL MEMBRANE boundary.',
    },
  },
  {
    dataset: 'NCBI-disease',
    source: 'this project (not in the official code)',
    descriptions: {
      Disease: 'disease entities are names of diseases, disorders, syndromes and abnormal conditions of the human body, such as cancers, tumours, infections and hereditary deficiencies, including classes of diseases and words that name a disease as a modifier.',
    },
  },
];

/** The built-in set that describes every one of `types` (matched by exact name), if one does. */
export function builtInSet(types: readonly string[]): DescriptionSet | undefined {
  return BUILT_IN_DESCRIPTIONS.find((s) => types.length > 0 && types.every((t) => Object.hasOwn(s.descriptions, t)));
}

/**
 * One description per type, in `types` order: the one `given` (the types file's) for a type that has
 * one, else the built-in set's that covers all the others. Throws, naming the types without one, when
 * no built-in set covers them.
 */
export function typeDescriptions(types: readonly string[], given: Readonly<Record<string, string>> = {}): string[] {
  const rest = types.filter((t) => !Object.hasOwn(given, t));
  const set = rest.length ? builtInSet(rest) : undefined;
  const missing = set ? [] : rest;
  if (missing.length) {
    const known = BUILT_IN_DESCRIPTIONS.map((s) => `${s.dataset} (${Object.keys(s.descriptions).join(', ')})`).join('; ');
    throw new Error(`BINDER reads a description of every entity type, and ${missing.map((t) => `'${t}'`).join(', ')} ${missing.length > 1 ? 'have' : 'has'} none: ` +
      `give them in the types file (data.types or --types), e.g. {"${missing[0]}": "a description of ${missing[0]} entities", ...}, or set model.typeInputs to "embeddings" ` +
      `(built-in descriptions: ${known})`);
  }
  return types.map((t) => (Object.hasOwn(given, t) ? given[t] : set!.descriptions[t]));
}

/** A description's words, split as the model splits plain text (its clitic style). */
export function descriptionTokens(description: string, clitics: CliticStyle): string[] {
  return tokenizeText(description, clitics).map((t) => t.text);
}
