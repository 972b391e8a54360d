// A slapd ready for provisioning tests: Dogtag's cert-record schema (test copy), shrTok installed, a cert
// repository, and the password files the CLI reads.
import { startSlapd, ADMIN_DN, ADMIN_PASSWORD, CONFIG_DN, CONFIG_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { connectDirectory } from '../../src/directory/index.js';
import { installSchema } from '../../src/schema/index.js';
import { TempDir } from '../schema/shared.js';
import { CERT_REPO, certRepositoryLdif, ldapApply, openldapTestSchema } from './fixture.js';

export interface ProvisionSlapd {
  slapd: Slapd;
  tmp: TempDir;
  /** --url/--bind-dn/--password-file for the data admin. */
  conn: string[];
  cleanup: () => Promise<void>;
}

export async function startProvisionSlapd(
  records: Array<{ serial: bigint; metaInfo: string[] }> = [],
  extraLdif = '',
  /** Entries that need shrTok or metaInfo, added over LDAP once the schema is in place. */
  ldifAfterSchema = '',
): Promise<ProvisionSlapd> {
  const slapd = await startSlapd({ syncprov: false, extraLdif, sizeLimit: 5000 });
  const tmp = new TempDir();
  try {
    await ldapApply('ldapadd', slapd.url, CONFIG_DN, CONFIG_PASSWORD, openldapTestSchema());
    const config = await connectDirectory({ url: slapd.url, bindDn: CONFIG_DN, password: CONFIG_PASSWORD });
    try {
      const result = await installSchema(config);
      if (result.outcome !== 'added') throw new Error(`schema install: ${result.outcome}`);
    } finally {
      await config.unbind();
    }
    await ldapApply('ldapadd', slapd.url, ADMIN_DN, ADMIN_PASSWORD, certRepositoryLdif(CERT_REPO, records));
    if (ldifAfterSchema) await ldapApply('ldapadd', slapd.url, ADMIN_DN, ADMIN_PASSWORD, ldifAfterSchema);
    const pw = tmp.file('admin.pw', `${ADMIN_PASSWORD}\n`);
    return {
      slapd,
      tmp,
      conn: ['--url', slapd.url, '--bind-dn', ADMIN_DN, '--password-file', pw],
      cleanup: async () => {
        await slapd.destroy();
        tmp.remove();
      },
    };
  } catch (e) {
    await slapd.destroy();
    tmp.remove();
    throw e;
  }
}
