/** Values the property tests share. */
import fc from 'fast-check';

/** I-JSON values (RFC 7493): integers within the safe range; fast-check's default strings are well formed (no lone surrogates). */
export function iJsonValue(maxDepth: number): fc.Arbitrary<fc.JsonValue> {
  return fc.jsonValue({ maxDepth }).filter((v) => {
    let ok = true;
    JSON.stringify(v, (_, x) => {
      if (typeof x === 'number' && Number.isInteger(x) && !Number.isSafeInteger(x)) ok = false;
      return x;
    });
    return ok;
  });
}

/** P-256's group order n. */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The other s of a P-256 r‖s signature: n − s (the same signature, malleated). */
export function otherS(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  let s = 0n;
  for (const b of raw.subarray(32)) s = (s << 8n) | BigInt(b);
  let t = P256_N - s;
  const out = Uint8Array.from(raw);
  for (let i = 63; i >= 32; i--) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}
