// PROXY protocol (v1/v2) on listener connections: the load balancer's header is read before anything else,
// so sessions, lockout and audit see the real client address. For ldaps:// listeners the header precedes
// the TLS handshake, so TLS is set up here once the header has been consumed.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { parseProxyHeader } from '../proxy-protocol/index.js';
import type { ProxyAddress } from '../proxy-protocol/index.js';

/** A load balancer sends its header at once; a connection that does not is dropped after this long. */
export const PROXY_HEADER_TIMEOUT_MS = 10_000;

export interface ProxiedConnection {
  /** Absent for LOCAL (health check) and UNKNOWN headers: the socket's own address applies. */
  source?: ProxyAddress;
  /** Bytes received after the header; they belong to the LDAP (or TLS) stream. */
  rest: Buffer;
}

/** Reads the header; rejects on a malformed header, a timeout or a connection closed first. */
export function readProxyHeader(
  socket: Socket,
  timeoutMs = PROXY_HEADER_TIMEOUT_MS,
): Promise<ProxiedConnection> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const fail = (reason: string): void => {
      cleanup();
      reject(new Error(reason));
    };
    const onData = (chunk: Buffer): void => {
      // Bounded: the parser refuses anything longer than a v1 line or a v2 header of 1 KiB.
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let header;
      try {
        header = parseProxyHeader(received);
      } catch (e) {
        fail((e as Error).message);
        return;
      }
      if (!header.complete) return;
      cleanup();
      socket.pause();
      const result: ProxiedConnection = { rest: received.subarray(header.length) };
      if (header.source) result.source = header.source;
      resolve(result);
    };
    const onClose = (): void => fail('connection closed before the PROXY header');
    const onError = (e: Error): void => fail(e.message);
    const timer = setTimeout(() => fail(`no PROXY header within ${timeoutMs} ms`), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

/**
 * Server-side TLS over a socket whose first bytes were already read. Bytes left after the header are
 * replayed into the TLS engine through a small Duplex; without any, the socket is wrapped directly.
 */
export function startServerTls(socket: Socket, rest: Buffer, secureContext: SecureContext): TLSSocket {
  if (rest.length === 0) return new TLSSocket(socket, { isServer: true, secureContext });
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      socket.write(chunk, (e) => done(e ?? null));
    },
    final(done) {
      socket.end();
      done();
    },
    destroy(e, done) {
      socket.destroy();
      done(e);
    },
  });
  stream.push(rest);
  socket.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('error', (e) => stream.destroy(e));
  socket.on('close', () => stream.destroy());
  return new TLSSocket(stream, { isServer: true, secureContext });
}
