// Connection flags shared by `schema` and the provisioning commands, and the connect that reads them.
import { readFileSync } from 'node:fs';
import type { Client } from 'ldapts';
import { requireStr, str, bool, UsageError } from '../cli/args.js';
import type { FlagSpec, FlagValues } from '../cli/args.js';
import { connectDirectory } from '../directory/index.js';

export const directoryFlags: readonly FlagSpec[] = [
  { name: 'url', type: 'string', valueName: 'URL', help: 'directory URL (ldap:// or ldaps://)' },
  { name: 'bind-dn', type: 'string', valueName: 'DN', help: 'DN to bind as' },
  {
    name: 'password-file',
    type: 'string',
    valueName: 'FILE',
    help: 'file holding the bind password (one trailing newline is ignored)',
  },
  { name: 'starttls', type: 'boolean', help: 'upgrade ldap:// with StartTLS before binding' },
  {
    name: 'ca',
    type: 'string',
    valueName: 'FILE',
    help: 'PEM CA certificate that signed the server certificate',
  },
];

/** Reads a secret file, dropping one trailing newline; the content never goes into an error message. */
export function readSecretFile(path: string, what: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end--;
  if (end > 0 && data[end - 1] === 0x0d) end--;
  return data.subarray(0, end);
}

export async function connectFromFlags(flags: FlagValues): Promise<Client> {
  const url = requireStr(flags, 'url');
  if (!/^ldaps?:\/\//i.test(url))
    throw new UsageError(`flag --url: "${url}" is not an ldap:// or ldaps:// URL`);
  const bindDn = str(flags, 'bind-dn');
  const passwordFile = str(flags, 'password-file');
  if (bindDn !== undefined && passwordFile === undefined) {
    throw new UsageError('flag --password-file is required with --bind-dn');
  }
  const password = passwordFile ? readSecretFile(passwordFile, 'password') : undefined;
  try {
    return await connectDirectory({
      url,
      starttls: bool(flags, 'starttls'),
      caFile: str(flags, 'ca'),
      bindDn,
      password,
    });
  } finally {
    password?.fill(0);
  }
}
