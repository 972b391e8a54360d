// `token set` and `token rewrap`: flag tables and the runs behind them (added to `token`'s subcommands).
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Client } from 'ldapts';
import { UsageError, bool, int, str } from '../cli/args.js';
import type { FlagSpec, FlagValues } from '../cli/args.js';
import type { Command } from '../cli/command.js';
import { keyProviderFlags } from '../keys/index.js';
import type { WrapAlgorithm } from '../keys/index.js';
import { BulkSetupError, bulkSet } from './bulk.js';
import { describeTarget, parseSerial } from './entries.js';
import type { TokenTarget } from './entries.js';
import { connectFromFlags, directoryFlags, readSecretFile } from './directory-flags.js';
import {
  DEFAULT_PASSPHRASE_LENGTH,
  MAX_PASSPHRASE_LENGTH,
  MIN_PASSPHRASE_LENGTH,
  generatePassphrase,
} from './passphrase.js';
import { rewrapTokens } from './rewrap.js';
import { setGeneratedToken, setToken } from './set-token.js';
import { tokenMakerFromFlags } from './token-maker.js';
import type { TokenMaker } from './token-maker.js';

const out = (t: string): boolean => process.stdout.write(t);
const err = (t: string): boolean => process.stderr.write(t);

// The provider's own --wrap is replaced here by --oaep (set) and --to (rewrap), which say what is written.
const keyFlags = keyProviderFlags.filter((f) => f.name !== 'wrap');

const targetFlags: FlagSpec[] = [
  {
    name: 'users-base',
    type: 'string',
    valueName: 'DN',
    help: 'subtree holding the user entries (uid lookups)',
  },
  {
    name: 'cert-repository-base',
    type: 'string',
    valueName: 'DN',
    help: 'Dogtag cert records, e.g. ou=certificateRepository,ou=ca,o=pki-tomcat-CA',
  },
];
const concurrencyFlag: FlagSpec = {
  name: 'concurrency',
  type: 'int',
  min: 1,
  max: 64,
  help: 'directory operations in flight (default 4)',
};

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Connects and opens the key, runs `fn`, always closes both; runtime failures are one line and exit 1. */
async function withDirectoryAndKey(
  flags: FlagValues,
  wrap: WrapAlgorithm,
  requireProvider: boolean,
  fn: (client: Client, maker: TokenMaker) => Promise<number>,
): Promise<number> {
  let maker: TokenMaker | undefined;
  let client: Client | undefined;
  try {
    maker = await tokenMakerFromFlags(flags, wrap, { requireProvider });
    client = await connectFromFlags(flags);
    return await fn(client, maker);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    err(`shrtok-proxy: ${describeError(e)}\n`);
    return 1;
  } finally {
    await client?.unbind().catch(() => undefined);
    await maker?.close().catch(() => undefined);
  }
}

function singleTarget(flags: FlagValues): TokenTarget {
  const uid = str(flags, 'uid');
  const serial = str(flags, 'serial');
  if ((uid === undefined) === (serial === undefined))
    throw new UsageError('give exactly one of --uid or --serial');
  if (uid !== undefined) {
    const usersBase = str(flags, 'users-base');
    if (!usersBase) throw new UsageError('--uid needs --users-base');
    if (uid === '') throw new UsageError('--uid is empty');
    return { kind: 'uid', uid, usersBase };
  }
  const certRepositoryBase = str(flags, 'cert-repository-base');
  if (!certRepositoryBase) throw new UsageError('--serial needs --cert-repository-base');
  try {
    return { kind: 'serial', serial: parseSerial(serial ?? ''), certRepositoryBase };
  } catch (e) {
    throw new UsageError(describeError(e));
  }
}

async function runSingle(flags: FlagValues, wrap: WrapAlgorithm): Promise<number> {
  const target = singleTarget(flags);
  const passphraseFile = str(flags, 'passphrase-file');
  const generate = bool(flags, 'generate');
  if (passphraseFile !== undefined && generate)
    throw new UsageError('give --passphrase-file or --generate, not both');
  if (passphraseFile === undefined && !generate)
    throw new UsageError('give --passphrase-file FILE or --generate --out FILE');
  const outFile = str(flags, 'out');
  if (generate && !outFile)
    throw new UsageError('--generate needs --out FILE (the passphrase is never printed)');
  if (outFile && existsSync(outFile))
    throw new UsageError(`--out ${outFile} exists; it is never overwritten`);
  const passphrase = passphraseFile
    ? readSecretFile(passphraseFile, 'passphrase')
    : generatePassphrase(int(flags, 'length') ?? DEFAULT_PASSPHRASE_LENGTH);
  if (passphrase.length === 0) throw new UsageError(`passphrase file ${passphraseFile} is empty`);
  try {
    return await withDirectoryAndKey(flags, wrap, false, async (client, maker) => {
      const result =
        generate && outFile
          ? await setGeneratedToken(client, maker, target, passphrase, outFile)
          : await setToken(client, maker, target, passphrase);
      const attr = target.kind === 'uid' ? 'shrTok' : 'metaInfo revShrTok';
      const check = result.verified ? 'decrypted with the key before writing, read back' : 'read back';
      out(`${attr} set for ${describeTarget(target)} on ${result.dn} (${wrap}; ${check})\n`);
      if (generate) out(`passphrase written to ${outFile} (mode 0600)\n`);
      return 0;
    });
  } finally {
    passphrase.fill(0);
  }
}

async function runBulk(flags: FlagValues, csvFile: string, wrap: WrapAlgorithm): Promise<number> {
  for (const single of ['uid', 'serial', 'passphrase-file']) {
    if (str(flags, single) !== undefined)
      throw new UsageError(`--${single} cannot be combined with --from-csv`);
  }
  const generate = bool(flags, 'generate');
  const outFile = str(flags, 'out');
  if (generate && !outFile) throw new UsageError('--generate with --from-csv needs --out FILE (a 0600 CSV)');
  const opts = {
    csvFile,
    usersBase: str(flags, 'users-base'),
    certRepositoryBase: str(flags, 'cert-repository-base'),
    generate,
    length: int(flags, 'length') ?? DEFAULT_PASSPHRASE_LENGTH,
    outFile,
    errorsFile: str(flags, 'errors') ?? `${csvFile}.errors.csv`,
    journalFile: str(flags, 'journal') ?? `${csvFile}.done`,
    resume: bool(flags, 'resume'),
    concurrency: int(flags, 'concurrency') ?? 4,
  };
  return withDirectoryAndKey(flags, wrap, false, async (client, maker) => {
    let summary;
    try {
      summary = await bulkSet(client, maker, opts);
    } catch (e) {
      if (e instanceof BulkSetupError) throw new UsageError(e.message);
      throw e;
    }
    out(
      `${basename(csvFile)}: ${summary.rows} rows, ${summary.set} set, ${summary.skipped} skipped (done earlier), ${summary.failed} failed\n`,
    );
    out(`journal: ${opts.journalFile}\n`);
    if (summary.generated > 0)
      out(`generated passphrases: ${summary.generated} appended to ${outFile} (mode 0600)\n`);
    if (summary.failed > 0) out(`errors: ${opts.errorsFile} (fix the rows, then run again with --resume)\n`);
    return summary.failed > 0 ? 1 : 0;
  });
}

export const tokenSetCommand: Command = {
  name: 'set',
  summary: 'make a shared token and store it in the directory (one entry, or many from a CSV)',
  usage:
    'shrtok-proxy token set --url URL --bind-dn DN --password-file F ' +
    '(--uid UID --users-base DN | --serial N --cert-repository-base DN | --from-csv FILE [--resume]) ' +
    '(--passphrase-file F | --generate [--length N] --out F) (--cert ISSUANCE.pem | <key flags>) [--oaep]',
  description:
    'Makes the token as Dogtag CMCSharedToken does and writes it in one modify: shrTok on the user entry (exactly\n' +
    'one entry must have the uid; objectClass extensibleObject is added when missing), or metaInfo\n' +
    '"revShrTok:<b64>" on cn=<decimal serial>,<cert repository base>, replacing an earlier revShrTok value and\n' +
    'keeping the other metaInfo values. With a key (not just --cert) each token is decrypted before it is\n' +
    'written; every write is read back. --generate writes a random passphrase to a new 0600 file, never to the\n' +
    'terminal.\n\n' +
    'Bulk CSV: a header row with uid and/or serial and an optional passphrase_file column; one entry per row.\n' +
    'Rows without passphrase_file get a generated passphrase (--generate), appended to --out as kind,id,passphrase.\n' +
    'Done rows go to the journal (default FILE.done), failures to FILE.errors.csv; --resume skips done rows.\n' +
    'Exit 0 when every row is set, 1 when some failed, 2 for usage errors.',
  flags: [
    ...directoryFlags,
    { name: 'uid', type: 'string', valueName: 'UID', help: 'user whose entry gets shrTok' },
    {
      name: 'serial',
      type: 'string',
      valueName: 'N',
      help: 'certificate serial (decimal or 0x-hex) for revShrTok',
    },
    ...targetFlags,
    { name: 'passphrase-file', type: 'string', valueName: 'FILE', help: 'file holding the passphrase' },
    { name: 'generate', type: 'boolean', help: 'generate a random passphrase (written only to --out)' },
    {
      name: 'length',
      type: 'int',
      min: MIN_PASSPHRASE_LENGTH,
      max: MAX_PASSPHRASE_LENGTH,
      help: `generated passphrase length (default ${DEFAULT_PASSPHRASE_LENGTH}, letters and digits)`,
    },
    {
      name: 'out',
      type: 'string',
      valueName: 'FILE',
      help: 'new file (mode 0600) for the generated passphrase(s)',
    },
    { name: 'from-csv', type: 'string', valueName: 'FILE', help: 'bulk: one entry per CSV row' },
    { name: 'resume', type: 'boolean', help: 'bulk: skip rows the journal lists as done' },
    {
      name: 'journal',
      type: 'string',
      valueName: 'FILE',
      help: 'bulk: done-rows journal (default FILE.done)',
    },
    {
      name: 'errors',
      type: 'string',
      valueName: 'FILE',
      help: 'bulk: per-row error report (default FILE.errors.csv)',
    },
    concurrencyFlag,
    {
      name: 'cert',
      type: 'string',
      valueName: 'FILE',
      help: 'issuance-protection certificate (public key only)',
    },
    ...keyFlags,
    {
      name: 'oaep',
      type: 'boolean',
      help: 'wrap with RSA-OAEP SHA-256 (Dogtag --oaep / keyWrap.useOAEP=true)',
    },
  ],
  run: (args) => {
    const wrap: WrapAlgorithm = bool(args.flags, 'oaep') ? 'rsa-oaep-sha256' : 'rsa-pkcs1v15';
    for (const generateOnly of ['length', 'out']) {
      if (args.flags[generateOnly] !== undefined && !bool(args.flags, 'generate')) {
        throw new UsageError(`--${generateOnly} only applies with --generate`);
      }
    }
    const csv = str(args.flags, 'from-csv');
    if (csv === undefined) {
      for (const bulkOnly of ['resume', 'journal', 'errors']) {
        if (args.flags[bulkOnly] !== undefined)
          throw new UsageError(`--${bulkOnly} only applies with --from-csv`);
      }
      return runSingle(args.flags, wrap);
    }
    return runBulk(args.flags, csv, wrap);
  },
};

export const tokenRewrapCommand: Command = {
  name: 'rewrap',
  summary: 'rewrap stored tokens to another RSA padding (PKCS#1 v1.5 to OAEP for FIPS)',
  usage:
    'shrtok-proxy token rewrap --url URL --bind-dn DN --password-file F (--users-base DN | --cert-repository-base DN) ' +
    '--to rsa-oaep-sha256 <key flags> [--dry-run]',
  description:
    'Finds every shrTok under --users-base and every metaInfo revShrTok under --cert-repository-base, decrypts\n' +
    'each with the key (in the HSM), and rewraps those not yet in the target padding. A new token is decrypted\n' +
    'before it is written and read back after; a token that does not decrypt is reported and left unchanged.\n' +
    '--dry-run only counts. Exit 0 when nothing failed, 1 otherwise.',
  flags: [
    ...directoryFlags,
    ...targetFlags,
    {
      name: 'to',
      type: 'string',
      valueName: 'WRAP',
      choices: ['rsa-oaep-sha256', 'rsa-pkcs1v15'],
      help: 'target wrap (default rsa-oaep-sha256)',
    },
    { name: 'dry-run', type: 'boolean', help: 'report what would change, write nothing' },
    concurrencyFlag,
    ...keyFlags,
  ],
  run: (args) => {
    const flags = args.flags;
    const to = (str(flags, 'to') ?? 'rsa-oaep-sha256') as WrapAlgorithm;
    const usersBase = str(flags, 'users-base');
    const certRepositoryBase = str(flags, 'cert-repository-base');
    if (!usersBase && !certRepositoryBase)
      throw new UsageError('give --users-base and/or --cert-repository-base');
    const dryRun = bool(flags, 'dry-run');
    return withDirectoryAndKey(flags, to, true, async (client, maker) => {
      const summary = await rewrapTokens(client, maker, {
        to,
        usersBase,
        certRepositoryBase,
        dryRun,
        concurrency: int(flags, 'concurrency') ?? 4,
        onProblem: (where, reason) => err(`problem: ${where}: ${reason}\n`),
      });
      const verb = dryRun ? 'would rewrap' : 'rewrapped';
      out(
        `${dryRun ? 'dry run: ' : ''}${summary.scanned} tokens scanned, ${summary.rewrapped} ${verb} to ${to}, ` +
          `${summary.alreadyTarget} already ${to}, ${summary.failed} failed\n`,
      );
      return summary.failed > 0 ? 1 : 0;
    });
  },
};
