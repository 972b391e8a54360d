// Checks and installs shrTok through the subschema subentry, idempotently, leaving conflicts alone.
import { Attribute, Change, InsufficientAccessError } from 'ldapts';
import type { Client } from 'ldapts';
import {
  OCTET_STRING_SYNTAX,
  OPENLDAP_SCHEMA_DN,
  SHRTOK_NAME,
  SHRTOK_OID,
  attributeTypeDescription,
} from './definitions.js';
import type { SchemaFlavor } from './definitions.js';
import { attrValues, detectServer } from './detect.js';
import type { ServerInfo } from './detect.js';
import { effectiveSyntax, hasName, parseAttributeType } from './parse.js';
import type { AttributeTypeInfo } from './parse.js';

export type SchemaState = 'installed' | 'missing' | 'conflicting';

/** Exit codes of `schema check`, one per state. */
export const SCHEMA_CHECK_EXIT: Record<SchemaState, number> = { installed: 0, missing: 3, conflicting: 1 };

export interface SchemaCheck {
  state: SchemaState;
  /** One line for the operator. */
  detail: string;
  /** The server's shrTok definition (or the one holding our OID) when there is one. */
  existing?: AttributeTypeInfo;
  /** Compatible differences worth knowing (another OID, multi-valued). */
  notes: string[];
}

export async function readAttributeTypes(client: Client, subschemaDn: string): Promise<AttributeTypeInfo[]> {
  const { searchEntries } = await client.search(subschemaDn, {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['attributeTypes'],
  });
  const entry = searchEntries[0];
  if (!entry) throw new Error(`subschema entry ${subschemaDn} not found`);
  const parsed: AttributeTypeInfo[] = [];
  for (const raw of attrValues(entry, 'attributeTypes')) {
    try {
      parsed.push(parseAttributeType(raw));
    } catch {
      // A definition we cannot read is not ours to judge; skip it.
    }
  }
  if (parsed.length === 0) throw new Error(`subschema entry ${subschemaDn} lists no attribute types`);
  return parsed;
}

/** Classifies the server's view of shrTok: ours, Dogtag's `shrTok-oid`, nothing, or something else. */
export function classify(all: readonly AttributeTypeInfo[]): SchemaCheck {
  const named = all.find((a) => hasName(a, SHRTOK_NAME));
  const oidHolder = all.find((a) => a.oid === SHRTOK_OID);
  if (oidHolder && !hasName(oidHolder, SHRTOK_NAME)) {
    return {
      state: 'conflicting',
      detail: `OID ${SHRTOK_OID} is already used by attribute ${oidHolder.names.join('/') || '(unnamed)'}`,
      existing: oidHolder,
      notes: [],
    };
  }
  if (!named) return { state: 'missing', detail: `attribute ${SHRTOK_NAME} is not defined`, notes: [] };
  const syntax = effectiveSyntax(named, all);
  if (syntax !== OCTET_STRING_SYNTAX) {
    return {
      state: 'conflicting',
      detail: `${SHRTOK_NAME} is defined with syntax ${syntax ?? '(none)'}, not Octet String ${OCTET_STRING_SYNTAX}; left unchanged`,
      existing: named,
      notes: [],
    };
  }
  const notes: string[] = [];
  if (named.oid !== SHRTOK_OID) notes.push(`defined with OID ${named.oid} (compatible: same name and syntax)`);
  if (!named.singleValue) notes.push('defined multi-valued; Dogtag and the proxy read the first value only');
  return { state: 'installed', detail: `${SHRTOK_NAME} is defined (OID ${named.oid})`, existing: named, notes };
}

export async function checkSchema(
  client: Client,
  server?: ServerInfo,
): Promise<SchemaCheck & { server: ServerInfo }> {
  const info = server ?? (await detectServer(client));
  return { ...classify(await readAttributeTypes(client, info.subschemaDn)), server: info };
}

export interface InstallSchemaOptions {
  /** Skip detection (for servers that hide what they are). */
  flavor?: SchemaFlavor;
  /** Progress lines for the operator. */
  log?: (line: string) => void;
}

export interface InstallSchemaResult {
  /** `added`: this call installed it; `unchanged`: it was already there; `conflicting`: left alone. */
  outcome: 'added' | 'unchanged' | 'conflicting';
  check: SchemaCheck;
  server: ServerInfo;
}

/** Installs shrTok if missing and confirms it from the subschema. Never touches a conflicting definition. */
export async function installSchema(client: Client, opts: InstallSchemaOptions = {}): Promise<InstallSchemaResult> {
  const log = opts.log ?? (() => undefined);
  const detected = await detectServer(client);
  const server: ServerInfo = opts.flavor ? { ...detected, flavor: opts.flavor } : detected;
  log(`server: ${server.flavor} (${server.evidence})`);
  const before = classify(await readAttributeTypes(client, server.subschemaDn));
  if (before.state === 'installed') return { outcome: 'unchanged', check: before, server };
  if (before.state === 'conflicting') return { outcome: 'conflicting', check: before, server };
  if (server.flavor === 'unknown') {
    throw new Error('cannot tell whether the server is 389-DS or OpenLDAP; pass --flavor');
  }
  try {
    await applyDefinition(client, server.flavor);
  } catch (e) {
    // Another installer (a second proxy starting) may have won the race; the re-read below decides.
    const again = classify(await readAttributeTypes(client, server.subschemaDn));
    if (again.state === 'installed') return { outcome: 'unchanged', check: again, server };
    if (e instanceof InsufficientAccessError) {
      throw new Error(
        server.flavor === 'openldap'
          ? 'this bind DN may not change the schema: bind as the cn=config rootdn or grant write on cn=schema,cn=config'
          : 'this bind DN may not change the schema: bind as cn=Directory Manager or grant write on cn=schema by ACI',
        { cause: e },
      );
    }
    throw e;
  }
  const after = classify(await readAttributeTypes(client, server.subschemaDn));
  if (after.state !== 'installed') {
    throw new Error(`the server accepted the definition but its subschema says: ${after.detail}`);
  }
  return { outcome: 'added', check: after, server };
}

async function applyDefinition(client: Client, flavor: SchemaFlavor): Promise<void> {
  const definition = attributeTypeDescription(flavor);
  if (flavor === '389ds') {
    await client.modify(
      'cn=schema',
      new Change({
        operation: 'add',
        modification: new Attribute({ type: 'attributeTypes', values: [definition] }),
      }),
    );
    return;
  }
  await client.add(OPENLDAP_SCHEMA_DN, {
    objectClass: ['olcSchemaConfig'],
    cn: ['shrtok'],
    olcAttributeTypes: [definition],
  });
}
