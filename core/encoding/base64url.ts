/** RFC 4648 §5 base64url without padding, strict on decode (no padding, no foreign characters). */
import { SemperError } from '../errors.js';

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * Node's Buffer codec where there is one: Node's btoa/atob are legacy JavaScript, several times
 * slower than Buffer's native base64 (a tenth of a WebAuthn verification went to them). Browsers
 * have no Buffer and a native btoa/atob. Both paths give the same text and bytes
 * (test/core/encoding/base64url.test.ts compares them); the strict checks below apply to both.
 */
interface NodeBufferCodec {
  from(data: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64' | 'base64url'): string };
  from(text: string, encoding: 'base64url'): Uint8Array;
}
const NODE_BUFFER = (globalThis as { Buffer?: NodeBufferCodec }).Buffer;

/**
 * node:buffer's own encoders, called on any Uint8Array (they read the view's bytes; undocumented
 * but there since Node 15). Buffer.from(bytes.buffer, …) would first ask for the view's
 * ArrayBuffer, and V8 keeps small typed arrays (≤ 64 bytes: signatures, ids) on its heap until
 * someone does: the ask moves their bytes to a new external buffer (≈ 1 µs, and garbage the
 * collector sweeps one by one), where these encode the bytes in place (≈ 0.1 µs).
 */
type SliceEncoder = (this: Uint8Array, start: number, end: number) => string;
const bufferProto = (NODE_BUFFER as { prototype?: { base64Slice?: unknown; base64urlSlice?: unknown } } | undefined)?.prototype;
const base64Slice = typeof bufferProto?.base64Slice === 'function' ? (bufferProto.base64Slice as SliceEncoder) : null;
const base64urlSlice = typeof bufferProto?.base64urlSlice === 'function' ? (bufferProto.base64urlSlice as SliceEncoder) : null;

/** The portable codec (btoa/atob), also what browsers run; exported for the differential test. */
export const portableBase64 = {
  encode(bytes: Uint8Array): string {
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(bin);
  },
  /** `text` already checked: base64url alphabet, length not 1 mod 4. */
  decodeUrl(text: string): Uint8Array<ArrayBuffer> {
    const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  },
};

/** RFC 4648 §4 base64 with padding (PEM bodies, DER in certificates). */
export function encodeBase64(bytes: Uint8Array): string {
  if (base64Slice) return base64Slice.call(bytes, 0, bytes.length);
  return NODE_BUFFER ? NODE_BUFFER.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') : portableBase64.encode(bytes);
}

export function encodeBase64url(bytes: Uint8Array): string {
  if (base64urlSlice) return base64urlSlice.call(bytes, 0, bytes.length);
  if (NODE_BUFFER) return NODE_BUFFER.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  return portableBase64.encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The value of a base64url character (RFC 4648 Table 2), for a character already checked against ALPHABET. */
function sextet(code: number): number {
  if (code >= 97) return code - 71; // a-z: 26-51
  if (code >= 65) return code === 95 ? 63 : code - 65; // A-Z: 0-25; '_' (95): 63
  if (code >= 48) return code + 4; // 0-9: 52-61
  return 62; // '-'
}

export function decodeBase64url(text: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== 'string' || !ALPHABET.test(text) || text.length % 4 === 1) {
    throw new SemperError('ERR_ENCODING', 'RFC 4648 §5: not a base64url string without padding');
  }
  // Reject non-canonical encodings (trailing bits set), so one byte string has one text form: a
  // last group of 2 characters carries 8 bits of 12, of 3 characters 16 of 18; the rest must be 0.
  const rest = text.length % 4;
  if (rest !== 0 && sextet(text.charCodeAt(text.length - 1)) & (rest === 2 ? 0x0f : 0x03)) {
    throw new SemperError('ERR_ENCODING', 'RFC 4648 §3.5: non-canonical base64url (trailing bits set)');
  }
  // A copy into a plain Uint8Array: callers get the same type on both paths.
  return NODE_BUFFER ? new Uint8Array(NODE_BUFFER.from(text, 'base64url')) : portableBase64.decodeUrl(text);
}
