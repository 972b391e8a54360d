// `token set --from-csv`: many entries, a bad row never stops the others, a journal makes --resume exact.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Client } from 'ldapts';
import { KeyUnavailableError, wipe } from '../keys/index.js';
import { csvLine, parseCsv } from './csv.js';
import { parseSerial } from './entries.js';
import type { TokenTarget } from './entries.js';
import { generatePassphrase, openSecretFile } from './passphrase.js';
import { Progress, runPool } from './progress.js';
import { setToken } from './set-token.js';
import type { TokenMaker } from './token-maker.js';
import { readSecretFile } from './directory-flags.js';

export interface BulkOptions {
  csvFile: string;
  usersBase?: string;
  certRepositoryBase?: string;
  /** Rows without a passphrase_file get a generated passphrase, appended to `outFile` (0600). */
  generate: boolean;
  length: number;
  outFile?: string;
  errorsFile: string;
  journalFile: string;
  resume: boolean;
  concurrency: number;
}

export interface BulkSummary {
  rows: number;
  set: number;
  skipped: number;
  failed: number;
  generated: number;
}

interface Row {
  line: number;
  key: string;
  kind: 'uid' | 'serial';
  id: string;
  target?: TokenTarget;
  passphraseFile?: string;
  problem?: string;
}

/** A bulk run that cannot start (bad header, journal present without --resume); exit 2 territory. */
export class BulkSetupError extends Error {
  override name = 'BulkSetupError';
}

const COLUMNS = ['uid', 'serial', 'passphrase_file'] as const;

function readRows(opts: BulkOptions): Row[] {
  let text: string;
  try {
    text = readFileSync(opts.csvFile, 'utf8');
  } catch (e) {
    throw new BulkSetupError(`cannot read ${opts.csvFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let records;
  try {
    records = parseCsv(text);
  } catch (e) {
    throw new BulkSetupError(`${opts.csvFile}: ${(e as Error).message}`);
  }
  const header = records.shift();
  if (!header) throw new BulkSetupError(`${opts.csvFile} is empty`);
  const names = header.fields.map((f) => f.trim().toLowerCase().replaceAll('-', '_'));
  for (const n of names) {
    if (!(COLUMNS as readonly string[]).includes(n)) {
      throw new BulkSetupError(`${opts.csvFile}: unknown column "${n}" (columns: ${COLUMNS.join(', ')})`);
    }
  }
  if (!names.includes('uid') && !names.includes('serial')) {
    throw new BulkSetupError(`${opts.csvFile}: the header needs a uid or a serial column`);
  }
  const seen = new Map<string, number>();
  return records.map(({ line, fields }) => {
    const get = (name: string): string => fields[names.indexOf(name)]?.trim() ?? '';
    const uid = get('uid');
    const serialText = get('serial');
    const passphraseFile = get('passphrase_file') || undefined;
    const row: Row = { line, key: '', kind: uid ? 'uid' : 'serial', id: uid || serialText, passphraseFile };
    if (fields.length !== names.length)
      row.problem = `has ${fields.length} fields, the header has ${names.length}`;
    else if (uid && serialText) row.problem = 'has both a uid and a serial';
    else if (!uid && !serialText) row.problem = 'has neither a uid nor a serial';
    else if (!passphraseFile && !opts.generate)
      row.problem = 'has no passphrase_file and --generate was not given';
    else if (uid) {
      if (!opts.usersBase) row.problem = 'is a uid row but --users-base was not given';
      else row.target = { kind: 'uid', uid, usersBase: opts.usersBase };
    } else {
      try {
        const serial = parseSerial(serialText);
        row.id = serial.toString(10);
        if (!opts.certRepositoryBase)
          row.problem = 'is a serial row but --cert-repository-base was not given';
        else row.target = { kind: 'serial', serial, certRepositoryBase: opts.certRepositoryBase };
      } catch (e) {
        row.problem = (e as Error).message;
      }
    }
    row.key = `${row.kind}:${row.id}`;
    const earlier = seen.get(row.key);
    if (row.id && earlier !== undefined && !row.problem) row.problem = `repeats line ${earlier}`;
    else if (row.id) seen.set(row.key, line);
    return row;
  });
}

function readJournal(path: string): Set<string> {
  if (!existsSync(path)) return new Set();
  return new Set(
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== ''),
  );
}

export async function bulkSet(client: Client, maker: TokenMaker, opts: BulkOptions): Promise<BulkSummary> {
  if (opts.generate && !opts.outFile) throw new BulkSetupError('--generate with --from-csv needs --out FILE');
  if (!opts.resume && existsSync(opts.journalFile)) {
    throw new BulkSetupError(
      `journal ${opts.journalFile} exists from an earlier run: pass --resume, or remove it`,
    );
  }
  if (!opts.resume && opts.outFile && existsSync(opts.outFile)) {
    throw new BulkSetupError(
      `${opts.outFile} exists: pass --resume to append to it, or choose another --out`,
    );
  }
  const rows = readRows(opts);
  const done = opts.resume ? readJournal(opts.journalFile) : new Set<string>();
  const todo = rows.filter((r) => !done.has(r.key));
  const summary: BulkSummary = {
    rows: rows.length,
    set: 0,
    skipped: rows.length - todo.length,
    failed: 0,
    generated: 0,
  };

  const journal = openSync(opts.journalFile, 'a', 0o600);
  const errors = openSync(opts.errorsFile, 'w', 0o600);
  writeSync(errors, csvLine(['line', 'kind', 'id', 'error']));
  let out: number | undefined;
  if (opts.outFile && opts.generate) {
    const fresh = !existsSync(opts.outFile);
    out = openSecretFile(opts.outFile, 'append');
    if (fresh) writeSync(out, csvLine(['kind', 'id', 'passphrase']));
  }
  const progress = new Progress(todo.length, 'token set');
  try {
    await runPool(todo, opts.concurrency, async (row) => {
      let passphrase: Buffer | undefined;
      try {
        if (row.problem || !row.target) throw new Error(`line ${row.line} ${row.problem ?? 'is invalid'}`);
        const generated = !row.passphraseFile;
        passphrase = row.passphraseFile
          ? readSecretFile(row.passphraseFile, 'passphrase')
          : generatePassphrase(opts.length);
        if (passphrase.length === 0) throw new Error(`passphrase file ${row.passphraseFile} is empty`);
        await setToken(client, maker, row.target, passphrase);
        // Order matters for --resume: the passphrase is saved before the row counts as done.
        if (generated && out !== undefined) {
          writeSync(out, `${row.kind},${row.id},${passphrase.toString('utf8')}\n`);
          summary.generated++;
        }
        writeSync(journal, `${row.key}\n`);
        summary.set++;
        progress.tick(true);
      } catch (e) {
        // Without the key nothing else can succeed: stop; the journal lets --resume continue from here.
        if (e instanceof KeyUnavailableError) throw e;
        summary.failed++;
        writeSync(
          errors,
          csvLine([String(row.line), row.kind, row.id, e instanceof Error ? e.message : String(e)]),
        );
        progress.tick(false);
      } finally {
        if (passphrase) wipe(passphrase);
      }
    });
  } finally {
    progress.finish();
    closeSync(journal);
    closeSync(errors);
    if (out !== undefined) closeSync(out);
  }
  return summary;
}
