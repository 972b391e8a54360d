// Subscribes to changes on the backend so a ttl-mode cache stays coherent with writes made behind the proxy:
// RFC 4533 syncrepl refreshAndPersist (OpenLDAP syncprov) or the 389-DS persistent search control.
import { EventEmitter } from 'node:events';
import { BerError, BerReader, BerTag, BerWriter } from '../ber/index.js';
import { ProtocolOp, decodeSearchResultEntry, opReader, readResult } from '../ldap/index.js';
import type { Control } from '../ldap/index.js';
import { RawLdapConnection, encodeSearchRequest } from './raw-ldap.js';
import type { LdapMessage, RawConnectOptions } from './raw-ldap.js';

export const SYNC_REQUEST_OID = '1.3.6.1.4.1.4203.1.9.1.1';
const SYNC_STATE_OID = '1.3.6.1.4.1.4203.1.9.1.2';
const SYNC_INFO_OID = '1.3.6.1.4.1.4203.1.9.1.4';
export const PERSISTENT_SEARCH_OID = '2.16.840.1.113730.3.4.3';
const ENTRY_CHANGE_OID = '2.16.840.1.113730.3.4.7';

const RESPONSE_NAME_TAG = 0x80;
const RESPONSE_VALUE_TAG = 0x81;
const SyncInfoTag = { newcookie: 0x80, refreshDelete: 0xa1, refreshPresent: 0xa2, syncIdSet: 0xa3 } as const;

export type WatchMechanism = 'syncrepl' | 'psearch';

/** Results that end a subscription for good: no such base, not allowed, control not supported there. */
const REFUSALS = new Set([12, 32, 50, 53]);

export interface DirectoryChange {
  dn: string;
  /** The DN before a rename, when the server says (persistent search). */
  previousDn?: string;
  /** entryUUID as lowercase hex without dashes, when the server says (syncrepl). */
  uuid?: string;
}

export interface ChangeWatcherOptions extends RawConnectOptions {
  bindDn?: string;
  password?: Buffer;
  /** Subtrees to watch (users base, certificate repository base). */
  bases: string[];
  /** Further backends to subscribe to when `url` cannot be reached. */
  fallbackUrls?: string[];
  mechanism?: WatchMechanism | 'auto';
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Bind and root DSE read must answer within this; default 10 s. */
  operationTimeoutMs?: number;
}

/**
 * Events: 'change' (DirectoryChange), 'deletedUuids' (string[]), 'up' (mechanism), 'down' (reason string),
 * 'refused' ({ base, code }: the server will not run the subscription there; the watcher stops).
 * While not `active`, changes may be missed: the owner must not trust cached entries beyond a direct read.
 */
export class ChangeWatcher extends EventEmitter {
  private conn: RawLdapConnection | undefined;
  private mechanism: WatchMechanism | undefined;
  private readonly cookies = new Map<string, Buffer>();
  private readonly refreshing = new Set<string>();
  private stopped = false;
  private upNow = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private delay: number;

  constructor(private readonly opts: ChangeWatcherOptions) {
    super();
    this.delay = opts.reconnectDelayMs ?? 500;
  }

  get active(): boolean {
    return this.upNow;
  }

  get activeMechanism(): WatchMechanism | undefined {
    return this.mechanism;
  }

  /** Subscribes once; rejects when the backend offers neither mechanism. Later losses reconnect by themselves. */
  async start(): Promise<WatchMechanism> {
    await this.subscribe();
    return this.mechanism!;
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.conn?.close();
    this.conn = undefined;
  }

  private urlIndex = 0;

  private async open(): Promise<RawLdapConnection> {
    const urls = [this.opts.url, ...(this.opts.fallbackUrls ?? [])];
    let last: unknown;
    for (let i = 0; i < urls.length; i++) {
      const at = (this.urlIndex + i) % urls.length;
      try {
        const conn = await RawLdapConnection.open({ ...this.opts, url: urls[at]! });
        if (at !== this.urlIndex) this.cookies.clear(); // a cookie belongs to the server that issued it
        this.urlIndex = at;
        return conn;
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  private async subscribe(): Promise<void> {
    const conn = await this.open();
    try {
      const timeout = this.opts.operationTimeoutMs ?? 10_000;
      if (this.opts.bindDn !== undefined)
        await conn.bind(this.opts.bindDn, this.opts.password ?? '', timeout);
      this.mechanism ??= await chooseMechanism(conn, this.opts.mechanism ?? 'auto', timeout);
    } catch (e) {
      conn.close();
      throw e;
    }
    this.conn = conn;
    conn.once('close', () => this.lost('connection closed'));
    for (const base of this.opts.bases) this.search(conn, base);
    if (this.mechanism === 'psearch') this.markUp();
  }

  private search(conn: RawLdapConnection, base: string): void {
    const control: Control =
      this.mechanism === 'syncrepl'
        ? { type: SYNC_REQUEST_OID, critical: true, value: syncRequestValue(this.cookies.get(base)) }
        : {
            type: PERSISTENT_SEARCH_OID,
            critical: true,
            // changeTypes add|delete|modify|modDN, changesOnly, returnECs
            value: new BerWriter(16)
              .startSequence()
              .writeInteger(15)
              .writeBoolean(true)
              .writeBoolean(true)
              .endSequence()
              .toBuffer(),
          };
    this.refreshing.add(base);
    const op = encodeSearchRequest({
      base,
      scope: 'sub',
      presentAttribute: 'objectClass',
      attributes: ['1.1'],
    });
    conn.send(op, [control], (m) => {
      // Late messages of a connection already given up (read in the same chunk as a refusal, say) must
      // not mark the watcher up again.
      if (this.conn !== conn) return;
      try {
        this.onMessage(base, m);
      } catch {
        // A response we cannot read: resubscribe rather than run on with a blind spot.
        conn.close();
      }
    });
  }

  private onMessage(base: string, m: LdapMessage): void {
    if (m.opTag === ProtocolOp.searchResEntry) {
      const dn = decodeSearchResultEntry(m.frame).objectName;
      const state = m.controls.find((c) => c.type === SYNC_STATE_OID);
      const ecn = m.controls.find((c) => c.type === ENTRY_CHANGE_OID);
      if (state?.value) {
        const s = decodeSyncState(state.value);
        if (s.cookie) this.cookies.set(base, s.cookie);
        if (s.state !== 0) this.emit('change', { dn, uuid: s.uuid } satisfies DirectoryChange);
      } else if (ecn?.value) {
        this.emit('change', { dn, previousDn: decodePreviousDn(ecn.value) } satisfies DirectoryChange);
      } else {
        this.emit('change', { dn } satisfies DirectoryChange);
      }
    } else if (m.opTag === ProtocolOp.intermediateResponse) {
      this.onSyncInfo(base, m);
    } else if (m.opTag === ProtocolOp.searchResDone) {
      // A persist search never ends on its own: the server refused or dropped it.
      const code = readResult(opReader(m, ProtocolOp.searchResDone)).resultCode;
      if (REFUSALS.has(code)) {
        // Asking again would be refused again: stop, so the owner reads the directory instead.
        this.emit('refused', { base, code });
        const conn = this.conn;
        this.stopped = true;
        this.lost(`subscription refused for ${base} (result ${code})`);
        conn?.close();
        return;
      }
      // e-syncRefreshRequired (4096): the cookie is too old, start over with a full refresh.
      if (code === 4096) this.cookies.delete(base);
      this.conn?.close();
    }
  }

  private onSyncInfo(base: string, m: LdapMessage): void {
    const r = opReader(m, ProtocolOp.intermediateResponse);
    const name = r.peekTag() === RESPONSE_NAME_TAG ? r.readString(RESPONSE_NAME_TAG) : undefined;
    const value = r.peekTag() === RESPONSE_VALUE_TAG ? r.readOctetString(RESPONSE_VALUE_TAG) : undefined;
    r.expectEnd('IntermediateResponse');
    if (name !== SYNC_INFO_OID || !value) return;
    const info = decodeSyncInfo(value);
    // A cookie is kept across frames: copy it out of the receive buffer.
    if (info.cookie) this.cookies.set(base, Buffer.from(info.cookie));
    if (info.deletedUuids) this.emit('deletedUuids', info.deletedUuids);
    if (info.refreshDone) {
      this.refreshing.delete(base);
      if (this.refreshing.size === 0) this.markUp();
    }
  }

  private markUp(): void {
    this.delay = this.opts.reconnectDelayMs ?? 500;
    if (this.upNow) return;
    this.upNow = true;
    this.emit('up', this.mechanism);
  }

  private lost(reason: string): void {
    this.conn = undefined;
    this.refreshing.clear();
    if (this.upNow) {
      this.upNow = false;
      this.emit('down', reason);
    }
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.subscribe().catch((e: unknown) => {
        this.delay = Math.min(this.delay * 2, this.opts.maxReconnectDelayMs ?? 30_000);
        this.lost(e instanceof Error ? e.message : 'reconnect failed');
      });
    }, this.delay);
    this.retryTimer.unref();
  }
}

function syncRequestValue(cookie: Buffer | undefined): Buffer {
  // mode refreshAndPersist (3), cookie when resuming
  const w = new BerWriter(64).startSequence().writeEnumerated(3);
  if (cookie) w.writeOctetString(cookie);
  return w.endSequence().toBuffer();
}

interface SyncInfo {
  cookie?: Buffer;
  refreshDone: boolean;
  /** entryUUIDs (hex) the server says were deleted while we were away. */
  deletedUuids?: string[];
}

/** syncInfoValue (RFC 4533 §2.5): a single element, nothing after it. */
function decodeSyncInfo(value: Buffer): SyncInfo {
  const outer = new BerReader(value);
  const tag = outer.peekTag();
  const info: SyncInfo = { refreshDone: false };
  if (tag === SyncInfoTag.newcookie) {
    info.cookie = outer.readOctetString(SyncInfoTag.newcookie);
    outer.expectEnd('syncInfoValue');
    return info;
  }
  const r = outer.readSequence(tag);
  outer.expectEnd('syncInfoValue');
  if (
    tag !== SyncInfoTag.refreshDelete &&
    tag !== SyncInfoTag.refreshPresent &&
    tag !== SyncInfoTag.syncIdSet
  ) {
    // Not a choice we know: check it is well-formed and keep its cookie, as for the known ones.
    while (!r.atEnd()) {
      if (!info.cookie && r.peekTag() === BerTag.octetString) info.cookie = r.readOctetString();
      else r.skip();
    }
    return info;
  }
  if (r.peekTag() === BerTag.octetString) info.cookie = r.readOctetString();
  const flag = r.peekTag() === BerTag.boolean ? r.readBoolean() : undefined;
  if (tag === SyncInfoTag.syncIdSet) {
    const set = r.readSequence(BerTag.set);
    const uuids: string[] = [];
    while (!set.atEnd()) uuids.push(set.readOctetString().toString('hex'));
    // With refreshDeletes the set lists deleted entries; otherwise present ones, which are unchanged.
    if (flag === true) info.deletedUuids = uuids;
  } else {
    info.refreshDone = flag ?? true; // refreshDone DEFAULT TRUE
  }
  r.expectEnd('syncInfoValue');
  return info;
}

/** syncStateValue (RFC 4533 §2.3): state, entryUUID, optional cookie. */
function decodeSyncState(value: Buffer): { state: number; uuid: string; cookie?: Buffer } {
  const outer = new BerReader(value);
  const r = outer.readSequence();
  outer.expectEnd('syncStateValue');
  const at = r.offset;
  const state = r.readEnumerated();
  if (state < 0) throw new BerError('negative sync state', at);
  const uuid = r.readOctetString().toString('hex');
  const cookie = r.peekTag() === BerTag.octetString ? Buffer.from(r.readOctetString()) : undefined;
  r.expectEnd('syncStateValue');
  return { state, uuid, cookie };
}

/** EntryChangeNotification: changeType, previousDN (after a modDN), changeNumber. */
function decodePreviousDn(value: Buffer): string | undefined {
  const outer = new BerReader(value);
  const r = outer.readSequence();
  outer.expectEnd('EntryChangeNotification');
  r.readEnumerated();
  const previousDn = r.peekTag() === BerTag.octetString ? r.readString() : undefined;
  if (r.peekTag() === BerTag.integer) r.skip(); // changeNumber
  r.expectEnd('EntryChangeNotification');
  return previousDn;
}

async function chooseMechanism(
  conn: RawLdapConnection,
  wanted: WatchMechanism | 'auto',
  timeoutMs: number,
): Promise<WatchMechanism> {
  const supported = await supportedControls(conn, timeoutMs);
  const has = (m: WatchMechanism): boolean =>
    supported.has(m === 'syncrepl' ? SYNC_REQUEST_OID : PERSISTENT_SEARCH_OID);
  if (wanted !== 'auto') {
    if (!has(wanted)) throw new Error(`the backend does not offer ${wanted}`);
    return wanted;
  }
  if (has('syncrepl')) return 'syncrepl';
  if (has('psearch')) return 'psearch';
  throw new Error('the backend offers neither syncrepl nor persistent search');
}

/** Reads supportedControl from the root DSE. */
function supportedControls(conn: RawLdapConnection, timeoutMs: number): Promise<Set<string>> {
  return new Promise((resolve, reject) => {
    const found = new Set<string>();
    const op = encodeSearchRequest({
      base: '',
      scope: 'base',
      presentAttribute: 'objectClass',
      attributes: ['supportedControl'],
    });
    const onClose = (): void => {
      clearTimeout(timer);
      reject(new Error('connection closed'));
    };
    const timer = setTimeout(() => {
      conn.off('close', onClose);
      reject(new Error('the root DSE did not answer in time'));
      conn.close();
    }, timeoutMs);
    conn.once('close', onClose);
    conn.send(op, [], (m) => {
      try {
        if (m.opTag === ProtocolOp.searchResEntry) {
          for (const attr of decodeSearchResultEntry(m.frame).attributes) {
            if (attr.type.toLowerCase() !== 'supportedcontrol') continue;
            for (const v of attr.values) found.add(v.toString('latin1'));
          }
        } else if (m.opTag === ProtocolOp.searchResDone) {
          clearTimeout(timer);
          conn.off('close', onClose);
          resolve(found);
        }
      } catch (e) {
        reject(e instanceof Error ? e : new Error('bad root DSE'));
      }
    });
  });
}
