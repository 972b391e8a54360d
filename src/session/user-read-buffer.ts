// Makes an accepted socket read into one buffer of ours, as `net.connect({ onread })` does for outgoing
// sockets: no buffer allocation and no Readable push / 'data' event per read. net.Server has no such
// option, so this sets the same two socket fields Node's own onread constructor option sets, found by
// name on a probe socket. When they are not found (another Node version), it reports false and the socket
// keeps the ordinary 'data' path.
import { Socket } from 'node:net';
import type { SocketConstructorOpts } from 'node:net';

export type ReadCallback = (bytes: number, buffer: Buffer) => boolean;

interface OnreadFields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let fields: OnreadFields | null | undefined;

function findFields(): OnreadFields | null {
  // The constructor takes onread (as net.connect does) although the typings only list it for connect.
  const options = { onread: { buffer: Buffer.alloc(1), callback: () => true } } as SocketConstructorOpts;
  const probe = new Socket(options);
  const byName = new Map<string | undefined, symbol>();
  for (const s of Object.getOwnPropertySymbols(probe)) byName.set(s.description, s);
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  if (buffer === undefined || callback === undefined || generator === undefined) return null;
  const slots = probe as unknown as Record<symbol, unknown>;
  if (!Buffer.isBuffer(slots[buffer]) || typeof slots[callback] !== 'function') return null;
  return { buffer, callback, generator };
}

interface UserBufferHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/**
 * Switches a freshly accepted plain socket to reading into `buffer`; `callback(bytes, buffer)` then
 * replaces 'data' events (return false to stop reading until `socket.resume()`). The bytes are only valid
 * until reading continues. Returns false, changing nothing, when this Node cannot do it.
 */
export function readIntoBuffer(socket: Socket, buffer: Buffer, callback: ReadCallback): boolean {
  if (fields === undefined) fields = findFields();
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (fields === null || !handle || typeof handle.useUserBuffer !== 'function') return false;
  // Bytes already pushed into the stream would be read after newer ones: only a socket with none.
  if (socket.readableLength > 0) return false;
  const slots = socket as unknown as Record<symbol, unknown>;
  slots[fields.buffer] = buffer;
  slots[fields.callback] = callback;
  slots[fields.generator] = null;
  handle.useUserBuffer(buffer);
  return true;
}
