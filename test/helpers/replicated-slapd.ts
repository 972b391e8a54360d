// Two slapd servers replicating each other (OpenLDAP 2.5 multi-provider syncrepl), for scale-out tests.
import { ADMIN_DN, ADMIN_PASSWORD, SUFFIX, startSlapd } from './slapd.js';
import type { Slapd } from './slapd.js';
import { freePort } from './run.js';

function syncreplConfig(rid: number, peerPort: number): string {
  return `olcSyncrepl: rid=${String(rid).padStart(3, '0')} provider=ldap://127.0.0.1:${peerPort} bindmethod=simple binddn="${ADMIN_DN}" credentials=${ADMIN_PASSWORD} searchbase="${SUFFIX}" type=refreshAndPersist retry="1 +" timeout=3
olcMultiProvider: TRUE`;
}

/** Starts two providers; the first is loaded with the default DIT, the second replicates it. */
export async function startReplicatedPair(extraLdif?: string): Promise<[Slapd, Slapd]> {
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await startSlapd({
    port: portA,
    serverId: 1,
    extraDbConfig: syncreplConfig(2, portB),
    extraLdif,
  });
  try {
    const b = await startSlapd({
      port: portB,
      serverId: 2,
      extraDbConfig: syncreplConfig(1, portA),
      loadDit: false,
    });
    return [a, b];
  } catch (e) {
    await a.destroy();
    throw e;
  }
}
