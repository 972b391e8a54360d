// Tells 389 Directory Server from OpenLDAP: root DSE first (vendorName, OpenLDAProotDSE), cn=config second.
import type { Client, Entry } from 'ldapts';
import type { SchemaFlavor } from './definitions.js';

export interface ServerInfo {
  flavor: SchemaFlavor | 'unknown';
  /** vendorName / vendorVersion when the server publishes them. */
  vendor?: string;
  version?: string;
  /** DN of the subschema subentry (cn=schema on 389-DS, cn=Subschema on OpenLDAP). */
  subschemaDn: string;
  /** How the flavor was recognised, for reports. */
  evidence: string;
}

/** Values of an attribute, matching its name case-insensitively (servers differ in the case they return). */
export function attrValues(entry: Entry, name: string): string[] {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(entry)) {
    if (key.toLowerCase() !== wanted || key === 'dn') continue;
    const list = Array.isArray(value) ? value : [value];
    return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
  }
  return [];
}

export async function readRootDse(client: Client): Promise<Entry> {
  const { searchEntries } = await client.search('', {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['*', '+'],
  });
  const root = searchEntries[0];
  if (!root) throw new Error('the server returned no root DSE');
  return root;
}

export async function detectServer(client: Client): Promise<ServerInfo> {
  const root = await readRootDse(client);
  const vendor = attrValues(root, 'vendorName')[0];
  const version = attrValues(root, 'vendorVersion')[0];
  const subschemaDn = attrValues(root, 'subschemaSubentry')[0] ?? 'cn=Subschema';
  const base = { vendor, version, subschemaDn };
  const classes = attrValues(root, 'objectClass').map((c) => c.toLowerCase());
  if (vendor && /389|fedora|red hat|netscape/i.test(vendor) && !/openldap/i.test(vendor)) {
    return { ...base, flavor: '389ds', evidence: `root DSE vendorName "${vendor}"` };
  }
  if (classes.includes('openldaprootdse')) {
    return { ...base, flavor: 'openldap', evidence: 'root DSE objectClass OpenLDAProotDSE' };
  }
  if (attrValues(root, 'configContext').some((c) => c.toLowerCase() === 'cn=config')) {
    return { ...base, flavor: 'openldap', evidence: 'root DSE configContext cn=config' };
  }
  // Some deployments hide the vendor; cn=config itself differs (olcGlobal vs nsslapd-* attributes).
  try {
    const { searchEntries } = await client.search('cn=config', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['objectClass', 'nsslapd-versionstring'],
    });
    const config = searchEntries[0];
    if (config) {
      const versionString = attrValues(config, 'nsslapd-versionstring')[0];
      if (versionString) {
        return { ...base, version: version ?? versionString, flavor: '389ds', evidence: 'cn=config nsslapd-*' };
      }
      if (attrValues(config, 'objectClass').some((c) => c.toLowerCase() === 'olcglobal')) {
        return { ...base, flavor: 'openldap', evidence: 'cn=config objectClass olcGlobal' };
      }
    }
  } catch {
    // cn=config is often unreadable to non-admin accounts; fall through to unknown.
  }
  return { ...base, flavor: 'unknown', evidence: 'neither the root DSE nor cn=config identify the server' };
}
