// What the verifier remembers about a token between verifications. Never a passphrase: a keyed hash of it
// (for password compares) and the derived CMC proof keys, plus the token bytes (ciphertext, as stored in the
// directory) they came from.
import { LRUCache } from 'lru-cache';
import { inspect } from 'node:util';
import type { ProofKeys } from '../cmc/types.js';
import { parseDn } from './virtual-dn.js';

export interface CachedCredential {
  dn: string;
  /** normalizeDn(dn), computed once: index tag and lockout key. */
  dnKey: string;
  uuid?: string;
  /**
   * The stored token value: equal bytes mean the HSM need not be asked again. Kept whole rather than as a
   * digest: comparing a few hundred bytes costs less than hashing them on every strict verification.
   */
  token: Buffer;
  /** HMAC-SHA256(per-process random key, passphrase). */
  passphraseMac: Buffer;
  /** K = HASH(secret || identification) per hash; enrollment identities only. */
  proofKeys?: ProofKeys;
}

export interface CachedMiss {
  reason: 'lookup' | 'token';
  dn?: string;
  dnKey?: string;
}

export interface CredentialCacheOptions {
  maxEntries: number;
  /** ttl mode only: how long an entry may answer without reading the directory. */
  ttlMs?: number;
  /** An entry left the cache (metrics): pushed out by size, expired, or invalidated by a change. */
  onEvict?: (reason: 'capacity' | 'expired' | 'invalidated') => void;
}

/**
 * Key: the identity exactly as presented ("uid:<identification>" or "serial:<decimal>"). The identification
 * is part of the proof keys (K covers it byte for byte), so two spellings that the directory matches to one
 * entry are two cache entries; both are indexed under the entry's DN and entryUUID for invalidation.
 */
export class CredentialCache {
  private readonly entries: LRUCache<string, CachedCredential>;
  /** Failed lookups (ttl mode): a known and an unknown identity then cost the same on a warm path. */
  private readonly misses: LRUCache<string, CachedMiss>;
  /** "dn:<normalised DN>" / "uuid:<hex>" → cache keys. */
  private readonly index = new Map<string, Set<string>>();
  /** Bumped by every invalidation; a lookup that straddles one does not store its result. */
  epoch = 0;

  constructor(opts: CredentialCacheOptions) {
    const ttl = opts.ttlMs && opts.ttlMs > 0 ? { ttl: opts.ttlMs } : {};
    this.entries = new LRUCache<string, CachedCredential>({
      max: opts.maxEntries,
      ...ttl,
      dispose: (value, key, reason) => {
        this.unindex(value, key);
        if (reason === 'evict') opts.onEvict?.('capacity');
        else if (reason === 'expire') opts.onEvict?.('expired');
        else if (reason === 'delete') opts.onEvict?.('invalidated');
      },
    });
    this.misses = new LRUCache({ max: opts.maxEntries, ...ttl });
  }

  /** A fresh entry (respecting the TTL, if any). */
  get(key: string): CachedCredential | undefined {
    return this.entries.get(key);
  }

  /** The entry regardless of age: its token bytes tell whether the HSM can be skipped. */
  peek(key: string): CachedCredential | undefined {
    return this.entries.peek(key, { allowStale: true });
  }

  getMiss(key: string): CachedMiss | undefined {
    return this.misses.get(key);
  }

  setMiss(key: string, miss: CachedMiss): void {
    this.misses.set(key, miss);
  }

  set(key: string, value: CachedCredential): void {
    this.misses.delete(key);
    // Storing the entry already held (strict mode, unchanged token) only refreshes it: its tags are indexed.
    const refresh = this.entries.peek(key, { allowStale: true }) === value;
    this.entries.set(key, value);
    if (refresh) return;
    for (const tag of tagsOf(value)) {
      let keys = this.index.get(tag);
      if (!keys) this.index.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  invalidateDn(dn: string): number {
    return this.invalidateTag(`dn:${normalizeDn(dn)}`);
  }

  invalidateUuid(uuid: string): number {
    return this.invalidateTag(`uuid:${uuid.replace(/-/g, '').toLowerCase()}`);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
    this.misses.clear();
    this.index.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private invalidateTag(tag: string): number {
    this.epoch++;
    // A new entry may now match an identity that was not found before.
    this.misses.clear();
    const keys = this.index.get(tag);
    if (!keys) return 0;
    const n = keys.size;
    for (const key of [...keys]) this.entries.delete(key);
    return n;
  }

  private unindex(value: CachedCredential, key: string): void {
    for (const tag of tagsOf(value)) {
      const keys = this.index.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.index.delete(tag);
    }
  }

  [inspect.custom](): string {
    return `CredentialCache(${this.entries.size} entries)`;
  }
}

function tagsOf(value: CachedCredential): string[] {
  const tags = [`dn:${value.dnKey}`];
  if (value.uuid) tags.push(`uuid:${value.uuid}`);
  return tags;
}

/** Case- and spacing-insensitive form of a DN, so a write's DN finds the entry the lookup returned. */
export function normalizeDn(dn: string): string {
  let rdns;
  try {
    rdns = parseDn(dn);
  } catch {
    rdns = undefined;
  }
  if (!rdns) return dn.trim().toLowerCase();
  return rdns
    .map((rdn) =>
      rdn
        .map((a) => `${a.type.toLowerCase()}=${a.value.toLowerCase()}`)
        .sort()
        .join('+'),
    )
    .join(',');
}
