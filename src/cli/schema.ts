// `shrtok-proxy schema install|check|print`: the shrTok attribute on 389-DS and OpenLDAP.
import { UsageError, str } from './args.js';
import type { ParsedArgs } from './args.js';
import type { Command } from './command.js';
import type { Client } from 'ldapts';
import {
  SCHEMA_CHECK_EXIT,
  SCHEMA_FLAVORS,
  SCHEMA_FORMATS,
  checkSchema,
  installSchema,
  schemaText,
} from '../schema/index.js';
import type { SchemaCheck, SchemaFlavor, SchemaFormat } from '../schema/index.js';
import { connectFromFlags, directoryFlags } from '../provision/directory-flags.js';

const out = (t: string): boolean => process.stdout.write(t);
const err = (t: string): boolean => process.stderr.write(t);

function reportCheck(check: SchemaCheck): void {
  out(`${check.state}: ${check.detail}\n`);
  for (const note of check.notes) out(`  note: ${note}\n`);
  if (check.existing && check.state !== 'missing') out(`  definition: ${check.existing.raw}\n`);
}

/** Connects, runs `fn`, unbinds; a connection or LDAP failure is one line on stderr and exit 1. */
async function withClient(args: ParsedArgs, fn: (client: Client) => Promise<number>): Promise<number> {
  let client: Client;
  try {
    client = await connectFromFlags(args.flags);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    return failure(e);
  }
  try {
    return await fn(client);
  } catch (e) {
    return failure(e);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function failure(e: unknown): number {
  err(`shrtok-proxy: ${e instanceof Error ? e.message : String(e)}\n`);
  return 1;
}

const install: Command = {
  name: 'install',
  summary: 'add shrTok to the server schema (no-op when already there)',
  usage:
    'shrtok-proxy schema install --url URL --bind-dn DN --password-file F [--starttls] [--ca F] [--flavor 389ds|openldap]',
  description:
    'Detects the server (389-DS or OpenLDAP), adds the shrTok attribute type if it is missing and reads the\n' +
    "subschema back to confirm. An existing compatible definition (for example Dogtag's shrTok-oid) counts as\n" +
    'installed; a conflicting one is reported and left alone (exit 1).',
  flags: [
    ...directoryFlags,
    {
      name: 'flavor',
      type: 'string',
      valueName: 'FLAVOR',
      choices: SCHEMA_FLAVORS,
      help: 'skip server detection',
    },
  ],
  run: (args) =>
    withClient(args, async (client) => {
      const flavor = str(args.flags, 'flavor') as SchemaFlavor | undefined;
      const result = await installSchema(client, { flavor, log: (l) => out(`${l}\n`) });
      if (result.outcome === 'conflicting') {
        err(`shrtok-proxy: conflicting definition, not changed: ${result.check.detail}\n`);
        reportCheck(result.check);
        return 1;
      }
      out(
        result.outcome === 'added'
          ? 'installed shrTok (confirmed from the subschema)\n'
          : 'already installed, nothing to do\n',
      );
      reportCheck(result.check);
      return 0;
    }),
};

const check: Command = {
  name: 'check',
  summary: 'report whether shrTok is installed (exit 0), missing (3) or conflicting (1)',
  usage: 'shrtok-proxy schema check --url URL [--bind-dn DN --password-file F] [--starttls] [--ca F]',
  flags: directoryFlags,
  run: (args) =>
    withClient(args, async (client) => {
      const result = await checkSchema(client);
      out(`server: ${result.server.flavor} (${result.server.evidence})\n`);
      reportCheck(result);
      return SCHEMA_CHECK_EXIT[result.state];
    }),
};

const print: Command = {
  name: 'print',
  summary: 'print the schema LDIF (or slapd.conf file) for a server flavor',
  usage: 'shrtok-proxy schema print --flavor 389ds|openldap [--format online|file]',
  description:
    'online: LDIF for a running server (389-DS cn=schema modify, OpenLDAP cn=schema,cn=config add).\n' +
    'file: 99shrtok.ldif for the 389-DS schema directory, or shrtok.schema for slapd.conf.',
  flags: [
    { name: 'flavor', type: 'string', valueName: 'FLAVOR', choices: SCHEMA_FLAVORS, help: 'server flavor' },
    { name: 'format', type: 'string', valueName: 'FORMAT', choices: SCHEMA_FORMATS, help: 'default online' },
  ],
  run: (args) => {
    const flavor = str(args.flags, 'flavor') as SchemaFlavor | undefined;
    if (!flavor) throw new UsageError('flag --flavor is required (389ds or openldap)');
    out(schemaText(flavor, (str(args.flags, 'format') ?? 'online') as SchemaFormat));
    return Promise.resolve(0);
  },
};

export const command: Command = {
  name: 'schema',
  summary: 'install, check or print the shrTok schema',
  usage: 'shrtok-proxy schema <install|check|print> [options]',
  subcommands: [install, check, print],
};
