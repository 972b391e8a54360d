// `token set` for one entry: make the token, write it in one modify, read it back.
import { rmSync } from 'node:fs';
import type { Client } from 'ldapts';
import { wipe } from '../keys/index.js';
import { ProvisionError, describeTarget, readStoredToken, storedKind, writeToken } from './entries.js';
import type { TokenTarget } from './entries.js';
import { writeSecretFile } from './passphrase.js';
import type { TokenMaker } from './token-maker.js';

export interface SetResult {
  dn: string;
  /** True when a key provider decrypted the new token before it was written. */
  verified: boolean;
}

/** Writes a token for `passphrase` and confirms the server stored exactly that value. */
export async function setToken(
  client: Client,
  maker: TokenMaker,
  target: TokenTarget,
  passphrase: Buffer,
): Promise<SetResult> {
  const value = await maker.make(passphrase);
  const dn = await writeToken(client, target, value);
  const stored = await readStoredToken(client, storedKind(target), dn);
  if (stored.length !== 1 || stored[0] !== value) {
    throw new ProvisionError(
      `read-back of ${dn} does not show the token just written (${describeTarget(target)})`,
    );
  }
  return { dn, verified: maker.provider !== undefined };
}

/**
 * --generate: the passphrase file is created (0600, must not exist) before the directory is touched, and
 * removed again if the write fails, so a token never exists whose passphrase nobody has.
 */
export async function setGeneratedToken(
  client: Client,
  maker: TokenMaker,
  target: TokenTarget,
  passphrase: Buffer,
  outFile: string,
): Promise<SetResult> {
  writeSecretFile(outFile, Buffer.concat([passphrase, Buffer.from('\n')]));
  try {
    return await setToken(client, maker, target, passphrase);
  } catch (e) {
    rmSync(outFile, { force: true });
    throw e;
  } finally {
    wipe(passphrase);
  }
}
