// Where tokens live in the directory and the single modify that writes each kind.
import {
  Attribute,
  Change,
  InappropriateMatchingError,
  NoSuchObjectError,
  SizeLimitExceededError,
  UndefinedTypeError,
} from 'ldapts';
import type { Client, Entry } from 'ldapts';
import { escapeDnValue, escapeFilterValue } from '../directory/index.js';
import { attrValues } from '../schema/index.js';

/** Dogtag's MetaInfoMapper key for the revocation token (CertRecord.java). */
export const REV_SHR_TOK_KEY = 'revShrTok';
export const SHRTOK_ATTRIBUTE = 'shrTok';

/** A provisioning failure about one entry; the message names the entry, never a secret. */
export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

export type TokenTarget =
  | { kind: 'uid'; uid: string; usersBase: string }
  | { kind: 'serial'; serial: bigint; certRepositoryBase: string };

/** Dogtag names cert records by the decimal serial; accepts decimal or 0x-hex input. */
export function parseSerial(text: string): bigint {
  const t = text.trim();
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(t))
    throw new ProvisionError(`serial "${text}" is not a decimal or 0x-hex number`);
  const n = BigInt(t);
  if (n <= 0n) throw new ProvisionError(`serial "${text}" must be positive`);
  return n;
}

export function certRecordDn(serial: bigint, certRepositoryBase: string): string {
  return `cn=${escapeDnValue(serial.toString(10))},${certRepositoryBase}`;
}

export function describeTarget(target: TokenTarget): string {
  return target.kind === 'uid' ? `uid=${target.uid}` : `serial ${target.serial.toString(10)}`;
}

/** The one entry with this uid under the base; none or several is an error (Dogtag would take the first). */
export async function findUserEntry(client: Client, usersBase: string, uid: string): Promise<Entry> {
  let entries: Entry[];
  try {
    ({ searchEntries: entries } = await client.search(usersBase, {
      scope: 'sub',
      filter: `(uid=${escapeFilterValue(uid)})`,
      attributes: ['objectClass'],
      sizeLimit: 2,
    }));
  } catch (e) {
    if (e instanceof SizeLimitExceededError)
      throw new ProvisionError(`more than one entry has uid=${uid} under ${usersBase}`);
    if (e instanceof NoSuchObjectError) throw new ProvisionError(`users base ${usersBase} does not exist`);
    throw e;
  }
  if (entries.length === 0) throw new ProvisionError(`no entry has uid=${uid} under ${usersBase}`);
  if (entries.length > 1) {
    throw new ProvisionError(
      `${entries.length} entries have uid=${uid} under ${usersBase}: ${entries.map((e) => e.dn).join('; ')}`,
    );
  }
  return entries[0] as Entry;
}

async function readBase(client: Client, dn: string, attributes: string[]): Promise<Entry> {
  try {
    const { searchEntries } = await client.search(dn, {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes,
    });
    const entry = searchEntries[0];
    if (entry) return entry;
  } catch (e) {
    if (!(e instanceof NoSuchObjectError)) throw e;
  }
  throw new ProvisionError(`entry ${dn} does not exist`);
}

/** Writes shrTok (and extensibleObject when missing) in one modify. Returns the entry DN. */
export async function writeUserToken(client: Client, entry: Entry, value: string): Promise<string> {
  const changes: Change[] = [];
  const classes = attrValues(entry, 'objectClass').map((c) => c.toLowerCase());
  if (!classes.includes('extensibleobject')) {
    changes.push(
      new Change({
        operation: 'add',
        modification: new Attribute({ type: 'objectClass', values: ['extensibleObject'] }),
      }),
    );
  }
  changes.push(
    new Change({
      operation: 'replace',
      modification: new Attribute({ type: SHRTOK_ATTRIBUTE, values: [value] }),
    }),
  );
  await client.modify(entry.dn, changes);
  return entry.dn;
}

export function isRevShrTok(metaInfo: string): boolean {
  return metaInfo.startsWith(`${REV_SHR_TOK_KEY}:`);
}

/**
 * Replaces `old` values of `attribute` by `fresh` in one modify: delete the old exact values, add the new one,
 * leave every other value alone. The exact-value delete fails if someone changed the entry meanwhile, so a
 * concurrent write is never silently lost. OpenLDAP cannot add or delete values of an attribute without an
 * equality rule (Dogtag's metaInfo has none, nor has Octet String shrTok): there the full value set is replaced.
 */
export async function swapValues(
  client: Client,
  dn: string,
  attribute: string,
  current: readonly string[],
  old: readonly string[],
  fresh: string,
): Promise<void> {
  const changes: Change[] = [];
  if (old.length > 0) {
    changes.push(
      new Change({ operation: 'delete', modification: new Attribute({ type: attribute, values: [...old] }) }),
    );
  }
  changes.push(
    new Change({ operation: 'add', modification: new Attribute({ type: attribute, values: [fresh] }) }),
  );
  try {
    await client.modify(dn, changes);
  } catch (e) {
    if (!(e instanceof InappropriateMatchingError)) throw e;
    const kept = current.filter((v) => !old.includes(v));
    await client.modify(
      dn,
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: attribute, values: [...kept, fresh] }),
      }),
    );
  }
}

/** Sets `metaInfo: revShrTok:<b64>` on a cert record, replacing an earlier revShrTok value only. */
export async function writeRevocationToken(client: Client, dn: string, value: string): Promise<string> {
  const record = await readBase(client, dn, ['metaInfo']);
  const metaInfo = attrValues(record, 'metaInfo');
  await swapValues(
    client,
    dn,
    'metaInfo',
    metaInfo,
    metaInfo.filter(isRevShrTok),
    `${REV_SHR_TOK_KEY}:${value}`,
  );
  return dn;
}

/** Swaps one exact revShrTok token for another (rewrap); fails if the record no longer holds the old one. */
export async function replaceRevocationToken(
  client: Client,
  dn: string,
  oldValue: string,
  value: string,
): Promise<void> {
  const metaInfo = attrValues(await readBase(client, dn, ['metaInfo']), 'metaInfo');
  const old = `${REV_SHR_TOK_KEY}:${oldValue}`;
  if (!metaInfo.includes(old)) throw new ProvisionError(`${dn} changed while rewrapping; left as it is`);
  await swapValues(client, dn, 'metaInfo', metaInfo, [old], `${REV_SHR_TOK_KEY}:${value}`);
}

export type StoredKind = 'shrTok' | 'revShrTok';

/** Reads back what the server stored: the shrTok value(s), or the revShrTok token text(s). */
export async function readStoredToken(client: Client, kind: StoredKind, dn: string): Promise<string[]> {
  if (kind === 'shrTok') {
    const entry = await client.search(dn, {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: [SHRTOK_ATTRIBUTE],
      explicitBufferAttributes: [SHRTOK_ATTRIBUTE],
    });
    const e = entry.searchEntries[0];
    return e ? attrValues(e, SHRTOK_ATTRIBUTE) : [];
  }
  const record = await readBase(client, dn, ['metaInfo']);
  return attrValues(record, 'metaInfo')
    .filter(isRevShrTok)
    .map((v) => v.slice(REV_SHR_TOK_KEY.length + 1));
}

export function storedKind(target: TokenTarget): StoredKind {
  return target.kind === 'uid' ? 'shrTok' : 'revShrTok';
}

/** Writes a token to a user entry or a cert record; returns the DN written. */
export async function writeToken(client: Client, target: TokenTarget, value: string): Promise<string> {
  try {
    if (target.kind === 'uid') {
      return await writeUserToken(client, await findUserEntry(client, target.usersBase, target.uid), value);
    }
    return await writeRevocationToken(client, certRecordDn(target.serial, target.certRepositoryBase), value);
  } catch (e) {
    if (!(e instanceof UndefinedTypeError)) throw e;
    throw new ProvisionError(
      target.kind === 'uid'
        ? 'the server does not know the shrTok attribute: run `shrtok-proxy schema install` first'
        : "the server does not know metaInfo: --cert-repository-base must be Dogtag's CA database",
      { cause: e },
    );
  }
}
