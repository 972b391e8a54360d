// External fuzz corpora (PROTOS c06-ldapv3, Strozhevsky BER suite, go-asn1-ber go-fuzz corpus), read from
// the shared folder beside the clone: <repo>/../shared/corpora. CI has a read-only copy there; when it is
// absent the robustness tests run on their own generated mutations only and say so.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** SHRTOK_CORPORA_DIR points elsewhere (a local copy); default <repo>/../shared/corpora. */
export const CORPORA_DIR = process.env.SHRTOK_CORPORA_DIR ?? resolve(REPO, '..', 'shared', 'corpora');

export const CORPUS_NAMES = [
  'protos-c06-ldapv3-enc-r1-first100',
  'strozhevsky-asn1-ber-suite',
  'go-asn1-ber-gofuzz-corpus',
] as const;
export type CorpusName = (typeof CORPUS_NAMES)[number];

export interface CorpusCase {
  corpus: CorpusName;
  /** File name inside the corpus folder, for failure messages. */
  name: string;
  bytes: Buffer;
}

export interface Corpora {
  /** Where they were read from, or undefined when absent. */
  dir: string | undefined;
  cases: CorpusCase[];
  /** One line for test output: what was loaded, or why nothing was. */
  summary: string;
}

/** Loads every file of the corpora that exist; never throws for a missing folder. */
export function loadCorpora(names: readonly CorpusName[] = CORPUS_NAMES): Corpora {
  if (!existsSync(CORPORA_DIR))
    return {
      dir: undefined,
      cases: [],
      summary: `corpora not found at ${CORPORA_DIR}: using generated mutations only`,
    };
  const cases: CorpusCase[] = [];
  const counts: string[] = [];
  for (const corpus of names) {
    const dir = join(CORPORA_DIR, corpus);
    if (!existsSync(dir)) {
      counts.push(`${corpus}: absent`);
      continue;
    }
    let n = 0;
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (!statSync(path).isFile()) continue;
      cases.push({ corpus, name, bytes: readFileSync(path) });
      n++;
    }
    counts.push(`${corpus}: ${n}`);
  }
  return { dir: CORPORA_DIR, cases, summary: `corpora from ${CORPORA_DIR} (${counts.join(', ')})` };
}
