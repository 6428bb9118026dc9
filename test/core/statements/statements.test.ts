import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { generateKeyPair, signerFromKeyPair } from '../../../core/crypto/index.js';
import { MAX_JSON_DEPTH, canonicalJson, decodeBase64url, encodeBase64url, sealJson, sha256, sha256TextBase64url } from '../../../core/encoding/index.js';
import { Statement as StatementSchema } from '../../../core/statements/schema.js';
import {
  canonicalStatementDigest,
  lowS,
  signStatement,
  signStatementWithDigest,
  verifyStatement,
  withCanonicalSignature,
  type SignerRef,
  type UnsignedStatement,
  signingInput,
  signingText,
  signingTextByCopy,
  statementDigest,
  type Statement,
} from '../../../core/statements/index.js';
import { makeTestCa } from '../../helpers/pki.js';
import { iJsonValue, otherS } from '../../helpers/arbitraries.js';

const ijsonValue = iJsonValue(3);

const base = {
  type: 'semper.test',
  version: 1 as const,
  dealId: 'deal-0123456789abcdef',
  issuedAt: '2026-11-23T10:00:00.000Z',
  body: { amount: 100, to: 'Bob' },
};

describe('the statement schema on a party’s reply', () => {
  it('fails a body nested deeper than MAX_JSON_DEPTH as a parse, instead of exhausting the stack; parses and copies what is within it', () => {
    const nested = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));
    const envelope = (inner: unknown) => ({
      type: 'semper.test',
      version: 1,
      dealId: 'deal-0123456789',
      issuedAt: '2026-01-01T00:00:00.000Z',
      body: { inner },
      signature: { alg: 'ES256', signer: { kind: 'jwk', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } }, value: 'AA' },
    });
    for (const levels of [MAX_JSON_DEPTH + 1, 20_000]) {
      const r = StatementSchema.safeParse(envelope(nested(levels)));
      expect(r.success).toBe(false);
    }
    const within = envelope(nested(MAX_JSON_DEPTH));
    const r = StatementSchema.safeParse(within);
    expect(r.success).toBe(true);
    expect(r.data).toStrictEqual(within);
    expect(r.data!.body).not.toBe(within.body);
  });
});

describe('signed statements', () => {
  it('refuses a body nested thousands deep, or cyclic, with a typed error instead of exhausting the stack (a hostile merchant’s reply)', async () => {
    const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const st = await signStatement(base, signer);
    const cyclic: Record<string, unknown> = {};
    cyclic.again = [cyclic];
    for (const inner of [JSON.parse('['.repeat(20_000) + ']'.repeat(20_000)) as unknown, cyclic]) {
      const hostile = { ...st, body: { ...st.body, inner } };
      await expect(verifyStatement(hostile)).rejects.toMatchObject({ code: 'ERR_ENCODING' });
    }
  });

  it('a bare-key statement verifies and any change to body, type, alg or signer breaks it', async () => {
    const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const st = await signStatement(base, signer);
    const v = await verifyStatement(st);
    expect(v.signerJwk).toEqual(signer.publicJwk);
    const tamper = async (f: (s: Statement) => void) => {
      const copy = structuredClone(st) as Statement;
      f(copy);
      return verifyStatement(copy);
    };
    await expect(tamper((s) => (s.body.amount = 900))).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    await expect(tamper((s) => (s.type = 'semper.other'))).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    await expect(tamper((s) => (s.dealId = 'deal-other-0123456789'))).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    const other = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    await expect(
      tamper((s) => {
        if (s.signature.signer.kind === 'jwk') s.signature.signer.jwk = other.publicJwk;
      }),
    ).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    await expect(
      tamper((s) => {
        (s.signature as { alg: string }).alg = 'EdDSA';
      }),
    ).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
    await expect(
      tamper((s) => {
        (s.signature as { alg: string }).alg = 'none';
      }),
    ).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(
      tamper((s) => {
        (s as unknown as Record<string, unknown>).extra = 1;
      }),
    ).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
  });

  it('a body that is not JSON is ERR_SCHEMA first; JSON that is not I-JSON is ERR_ENCODING after the signer checks', async () => {
    const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const st = await signStatement(base, signer);
    for (const bad of [undefined, Number.NaN, Number.POSITIVE_INFINITY, new Date(0), () => 1, [1, undefined]]) {
      await expect(verifyStatement({ ...st, body: { amount: bad } })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    }
    await expect(verifyStatement({ ...st, body: [1] })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    // Unsafe integers and lone surrogates are JSON: the signer is checked first (here: no trust anchors), then the encoding.
    await expect(verifyStatement({ ...st, body: { amount: 2 ** 60 } })).rejects.toMatchObject({ code: 'ERR_ENCODING' });
    await expect(verifyStatement({ ...st, body: { to: 'B\ud800b' } })).rejects.toMatchObject({ code: 'ERR_ENCODING' });
    const certified = { ...st, body: { amount: 2 ** 60 }, signature: { ...st.signature, signer: { kind: 'x509', chain: ['AAAA'] } } };
    await expect(verifyStatement(certified)).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
  });

  it('returns a deep-frozen copy whose digest is the digest of what was sent', async () => {
    const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const st = await signStatement({ ...base, body: { items: [{ sku: 'a', quantity: 1 }], note: 'x' } }, signer);
    const v = await verifyStatement(st);
    expect(v.statement).toEqual(st);
    expect(v.statement).not.toBe(st);
    expect(Object.isFrozen(v.statement) && Object.isFrozen(v.statement.body) && Object.isFrozen((v.statement.body as { items: object[] }).items[0])).toBe(true);
    expect(await statementDigest(v.statement)).toBe(await statementDigest(st));
    // The input stays the caller's: changing it changes neither the verified copy nor its digest.
    (st.body as { note: string }).note = 'changed';
    expect(await statementDigest(v.statement)).toBe(await statementDigest({ ...st, body: { ...st.body, note: 'x' } }));
  });

  it('the signing input covers alg and signer, not the signature value', async () => {
    const signer = await signerFromKeyPair('EdDSA', await generateKeyPair('EdDSA'));
    const st = await signStatement(base, signer);
    const text = new TextDecoder().decode(signingInput(st));
    expect(text).toContain('"alg":"EdDSA"');
    expect(text).not.toContain(st.signature.value);
    expect(await statementDigest(st)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('the signing text written member by member is the reduced copy canonicalised, sealed or not, with or without extra members (property)', () => {
    const json = ijsonValue;
    const statement = fc.record({
      type: fc.string(),
      version: fc.oneof(fc.constant(1), fc.integer()),
      dealId: fc.string(),
      issuedAt: fc.string(),
      body: fc.dictionary(fc.string(), json, { maxKeys: 4 }),
      signature: fc.record({
        alg: fc.constantFrom('ES256', 'EdDSA', 'webauthn-ES256'),
        signer: fc.oneof(
          fc.record({ kind: fc.constant('jwk'), jwk: fc.dictionary(fc.string(), fc.string()) }),
          fc.record({ kind: fc.constant('x509'), chain: fc.array(fc.string()) }),
        ),
        value: fc.string(),
      }),
    });
    const extra = fc.option(fc.dictionary(fc.string(), json, { minKeys: 1, maxKeys: 2 }), { nil: undefined });
    fc.assert(
      fc.property(statement, extra, (st, more) => {
        const candidate = { ...st, ...more };
        const reference = canonicalize({ ...candidate, signature: { alg: st.signature.alg, signer: st.signature.signer } });
        const sealed = sealJson(candidate);
        if (!sealed.ok) return false;
        const toSign = candidate as unknown as Parameters<typeof signingText>[0];
        const sealedToSign = sealed.value as unknown as Parameters<typeof signingText>[0];
        return signingText(toSign) === reference && signingText(sealedToSign) === reference && signingTextByCopy(sealedToSign) === reference;
      }),
      { numRuns: 500 },
    );
  });

  it('signStatementWithDigest: the statement is the one spreading makes and its digest is the statement canonicalised from scratch (property)', async () => {
    // A signer whose signature is a function of the bytes signed, so a wrong signing input shows.
    const real = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const signer = { alg: real.alg, publicJwk: real.publicJwk, keyId: real.keyId, sign: async (data: Uint8Array<ArrayBuffer>) => sha256(data) };
    const json = ijsonValue;
    const members = fc.record({
      type: fc.string(),
      version: fc.oneof(fc.constant(1), fc.integer()),
      dealId: fc.string(),
      issuedAt: fc.string(),
      body: fc.dictionary(fc.string(), json, { maxKeys: 4 }),
    });
    const names = ['type', 'version', 'dealId', 'issuedAt', 'body'] as const;
    const signerRef = fc.option(
      fc.oneof(
        fc.record({ kind: fc.constant('jwk' as const), jwk: fc.constant(real.publicJwk) }),
        fc.record({ kind: fc.constant('x509' as const), chain: fc.array(fc.string(), { minLength: 1, maxLength: 2 }) }),
      ),
      { nil: undefined },
    );
    // The members in any order, sealed or not, sometimes with an extra member (the general way).
    const extra = fc.option(fc.dictionary(fc.string(), json, { minKeys: 1, maxKeys: 2 }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(
        members,
        fc.shuffledSubarray([...names], { minLength: 5, maxLength: 5 }),
        signerRef,
        extra,
        fc.boolean(),
        async (m, order, ref, more, seal) => {
          const unsigned: Record<string, unknown> = {};
          for (const n of order) unsigned[n] = m[n];
          if (more)
            for (const [k, v] of Object.entries(more)) Object.defineProperty(unsigned, k, { value: v, enumerable: true, writable: true, configurable: true });
          const input = seal ? (sealJson(unsigned) as { ok: true; value: Record<string, unknown> }).value : unsigned;
          const options = ref ? { signerRef: ref as SignerRef } : {};
          const toSign = input as unknown as UnsignedStatement;
          const { statement, digest } = await signStatementWithDigest(toSign, signer, options);
          const header = { alg: signer.alg, signer: ref ?? { kind: 'jwk', jwk: signer.publicJwk } };
          const value = encodeBase64url(await sha256(signingInput({ ...input, signature: header } as unknown as Statement)));
          const spread = { ...input, signature: { ...header, value } };
          expect(Object.keys(statement)).toEqual(Object.keys(spread));
          expect(statement).toEqual(spread);
          expect(await signStatement(toSign, signer, options)).toEqual(spread);
          expect(digest).toBe(await sha256TextBase64url(canonicalize(spread) as string));
          expect(digest).toBe(await statementDigest(statement));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('withCanonicalSignature is the spread copy with the value replaced, a member named __proto__ included', async () => {
    const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const st = await signStatement(base, signer);
    // The high-S twin of the signature: withCanonicalSignature must give back the low-S value.
    const raw = decodeBase64url(st.signature.value);
    const twin = lowS(raw) === raw ? otherS(raw) : raw;
    const high = { ...st, signature: { ...st.signature, value: encodeBase64url(twin) } };
    const canonical = withCanonicalSignature(high);
    const expected = { ...high, signature: { ...high.signature, value: encodeBase64url(lowS(twin)) } };
    expect(Object.keys(canonical)).toEqual(Object.keys(expected));
    expect(Object.keys(canonical.signature)).toEqual(Object.keys(expected.signature));
    expect(canonical).toEqual(expected);
    expect(high.signature.value).toBe(encodeBase64url(twin));
    expect(await canonicalStatementDigest(high)).toBe(await canonicalStatementDigest(st));
    // JSON.parse makes __proto__ an own member; the copy keeps it a member (and the digest then fails to canonicalise it
    // exactly as the spread copy does: an object member whose value is not a plain object is refused or kept as the spread keeps it).
    const parsed = JSON.parse(`{"__proto__":{"a":1},${JSON.stringify(high).slice(1)}`) as Statement;
    const copy = withCanonicalSignature(parsed);
    const spread = { ...parsed, signature: { ...parsed.signature, value: encodeBase64url(lowS(twin)) } };
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(Object.keys(spread));
    expect(canonicalJson(copy)).toBe(canonicalJson(spread));
  });

  it('certified statements need trust anchors and a valid chain; types are enforced', async () => {
    const ca = await makeTestCa();
    const m = await ca.issue({ commonName: 'Shop', role: 'merchant', origins: ['https://shop.example'] });
    const st = await signStatement(base, m.signer, { signerRef: { kind: 'x509', chain: m.chain } });
    await expect(verifyStatement(st)).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    const v = await verifyStatement(st, { trust: { roots: [ca.root], now: new Date() }, types: ['semper.test'] });
    expect(v.chain?.leaf.commonName).toBe('Shop');
    await expect(verifyStatement(st, { trust: { roots: [ca.root], now: new Date() }, types: ['semper.offer'] })).rejects.toMatchObject({
      code: 'ERR_STATEMENT_TYPE',
    });
    // Signed by another key than the certificate's.
    const stranger = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const forged = await signStatement(base, stranger, { signerRef: { kind: 'x509', chain: m.chain } });
    await expect(verifyStatement(forged, { trust: { roots: [ca.root], now: new Date() } })).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    const bare = await signStatement(base, m.signer);
    await expect(verifyStatement(bare, { requireCertificate: true })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
  });
});

describe('mutation table (docs/mutation-purchase.md): the signer kind must fit the algorithm', () => {
  it('a webauthn-ES256 signature block with a bare-key or certificate signer is refused, whatever a WebAuthn verifier would say', async () => {
    const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const st = await signStatement(base, signer);
    // A verifier that accepts anything: the envelope's own rule must refuse first.
    const lenient = { verify: async () => ({ userVerified: true }) };
    const forged = { ...st, signature: { ...st.signature, alg: 'webauthn-ES256', authenticatorData: 'AAAA', clientDataJSON: 'AAAA' } } as unknown as Statement;
    await expect(verifyStatement(forged, { webauthn: lenient })).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
  });
});

describe('mutation table (docs/mutation-pki.md): the signer block is signed', () => {
  it("a device-key statement cannot be re-attributed to a certificate for the same key, nor one certificate's statement to another's", async () => {
    const ca = await makeTestCa();
    const keys = await generateKeyPair('ES256');
    const signer = await signerFromKeyPair('ES256', keys);
    // The same key certified twice, under two names (two registrations of one device key).
    const ann = await ca.issue({ commonName: 'Ann Shopper', role: 'shopper', keys });
    const bob = await ca.issue({ commonName: 'Bob Shopper', role: 'shopper', keys });
    const trust = { roots: [ca.root], now: new Date() };
    const bare = await signStatement(base, signer);
    const relabelled = { ...bare, signature: { ...bare.signature, signer: { kind: 'x509', chain: ann.chain } } } as Statement;
    await expect(verifyStatement(relabelled, { trust, requireCertificate: true })).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    const asAnn = await signStatement(base, signer, { signerRef: { kind: 'x509', chain: ann.chain } });
    expect((await verifyStatement(asAnn, { trust })).chain?.leaf.commonName).toBe('Ann Shopper');
    const asBob = { ...asAnn, signature: { ...asAnn.signature, signer: { kind: 'x509', chain: bob.chain } } } as Statement;
    await expect(verifyStatement(asBob, { trust })).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
  });
});
