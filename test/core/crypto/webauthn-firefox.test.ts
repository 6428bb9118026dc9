/**
 * Hardware-token signatures made in Firefox (core/crypto/webauthn.ts, core/protocol/extension-id.ts).
 * Firefox refuses an extension page's own origin as RP ID; Semper names a web-domain RP ID there, and
 * Firefox reports clientDataJSON.origin = moz-extension://<SHA-256 of the add-on id>. A verifier pairs
 * each origin with the RP IDs it may use (`relyingParties`). Every vector goes through both the fast
 * path and @simplewebauthn/server and must come out the same.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createWebAuthnVerifier, verifyRegistration, type WebAuthnCheck, type WebAuthnVerifierOptions } from '../../../core/crypto/webauthn.js';
import { decodeBase64url, encodeBase64url, sha256, utf8 } from '../../../core/encoding/index.js';
import { buildBundle, verifyBundle } from '../../../core/evidence/index.js';
import {
  EXTENSION_ORIGIN,
  FIREFOX_WEBAUTHN_ORIGIN,
  GECKO_ID,
  extensionRelyingParties,
  firefoxWebAuthnOrigin,
  normaliseTokenRpId,
  tokenRpIdFor,
} from '../../../core/protocol/extension-id.js';
import { FLAG_UP, FLAG_UV, SoftAuthenticator } from '../../helpers/soft-authenticator.js';
import { type Outcome, verificationOutcome } from './webauthn-outcome.js';

const RP_ID = 'localhost';
/** What a verifier of the marketplace accepts: the pinned Chromium extension, and the pinned Firefox add-on with `localhost`. */
const PINNED: WebAuthnVerifierOptions = { relyingParties: extensionRelyingParties({ firefoxRpIds: [RP_ID] }) };

/**
 * Made by Firefox ESR 153 (headless, Marionette virtual CTAP2 authenticator) in the smoke run
 * (scripts/firefox-smoke.ts, SEMPER_SMOKE_ARTIFACTS): the order of a purchase the merchant demanded a
 * token for, signed in the trusted window with rpId `localhost`, as the marketplace's shop stored it.
 */
const FIREFOX_ORDER = {
  type: 'semper.order',
  version: 1,
  dealId: 'Js13wTHr_JFacEVMo_hQwPPpxlivFpYl',
  issuedAt: '2026-11-30T07:24:02.205Z',
  body: { offerId: 'izt_VGaESJ1_nkv6-NRbG77s', offerDigest: 'NHVWqwxA7gOs5tunOIadSHJ4ys-TGBEtaVcMAxIMTzk', paymentMethod: 'invoice' },
  signature: {
    alg: 'webauthn-ES256',
    signer: {
      kind: 'webauthn',
      jwk: { kty: 'EC', crv: 'P-256', x: 'AMW4N9NmAlBcsSL8WLHBZpEp3ijTkMvsC9tfffoqarM', y: '-s4rcXEBCw_S6b95G8yaU9tDYw4zCTLF1uvF4Vn84KQ' },
      credentialId: '4-2i8J1QWecfCeMN34gxIaqJvvNEoNXI4Hv8eGD7XN8',
      rpId: 'localhost',
    },
    value: 'MEUCIB9tHKzlJl2-qIaTLCGqmXHFN4qYU9i1B6RxzA4WAW0hAiEA7y55CE43REF8G6LYUS3K5JYSN0trJm1N0pWoB5XlneI',
    authenticatorData: 'SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ',
    clientDataJSON:
      'eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiMnpHZUR4TU9ZRzEzOHFjdXJQR2F1SFJucnJCTHNvejA3cEJPNXcyTkNWSSIsIm9yaWdpbiI6Im1vei1leHRlbnNpb246Ly9iaGpjZGdsbm9qZmtnbGtrZG5vYmNqcG1pZGRtYnBrZ21naGpkZ2tuYmZoYXBtY2ZiZG9oanBlaWdubmhwZmtmIiwiY3Jvc3NPcmlnaW4iOmZhbHNlfQ',
  },
} as const;

async function outcome(statement: unknown, options: WebAuthnVerifierOptions = PINNED): Promise<Outcome> {
  const fast = await verificationOutcome(statement, { ...options, implementation: 'fast' } as WebAuthnVerifierOptions);
  const library = await verificationOutcome(statement, { ...options, implementation: 'library' } as WebAuthnVerifierOptions);
  expect(fast).toEqual(library);
  return fast;
}

function expectRefused(o: Outcome, check: WebAuthnCheck): void {
  expect(o).toMatchObject({ ok: false, code: 'ERR_WEBAUTHN', check });
}

const firefoxToken = (origin = FIREFOX_WEBAUTHN_ORIGIN, rpId = RP_ID) => SoftAuthenticator.create({ rpId, origin });
const unsigned = {
  type: 'semper.order',
  version: 1 as const,
  dealId: 'deal-0123456789abcdef',
  issuedAt: '2026-11-30T10:00:00.000Z',
  body: { amount: 14900, to: 'Fogra' },
};

describe("Firefox's WebAuthn origin for the pinned add-on", () => {
  it('is moz-extension:// + SHA-256(add-on id) as 64 letters a–p, a constant verifiers know in advance', async () => {
    expect(await firefoxWebAuthnOrigin(GECKO_ID)).toBe(FIREFOX_WEBAUTHN_ORIGIN);
    const hex = createHash('sha256').update(GECKO_ID).digest('hex');
    const letters = [...hex].map((d) => String.fromCharCode(97 + Number.parseInt(d, 16))).join('');
    expect(FIREFOX_WEBAUTHN_ORIGIN).toBe(`moz-extension://${letters}`);
    expect(await firefoxWebAuthnOrigin('other@add-on.example')).not.toBe(FIREFOX_WEBAUTHN_ORIGIN);
  });

  it('RP IDs for Firefox are web domains: IP addresses, schemes, paths and ports are refused (ERR_SCHEMA)', () => {
    expect(normaliseTokenRpId('Shop.Example.')).toBe('shop.example');
    expect(normaliseTokenRpId('localhost')).toBe('localhost');
    expect(normaliseTokenRpId('xn--bcher-kva.example')).toBe('xn--bcher-kva.example');
    for (const bad of [
      '',
      '127.0.0.1',
      '10.1.2.3',
      'https://shop.example',
      'shop.example/x',
      'shop.example:443',
      '-a.example',
      'a..b',
      'a'.repeat(64),
      EXTENSION_ORIGIN,
    ]) {
      expect(() => normaliseTokenRpId(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_SCHEMA' }));
    }
  });

  it('the RP ID tied to a party: its domain; loopback → localhost; another IP address → none', () => {
    expect(tokenRpIdFor('https://ca.semper.example:8443')).toBe('ca.semper.example');
    expect(tokenRpIdFor('http://127.0.0.1:8450')).toBe('localhost');
    expect(tokenRpIdFor('http://[::1]:8450')).toBe('localhost');
    expect(tokenRpIdFor('http://localhost:8450')).toBe('localhost');
    expect(tokenRpIdFor('http://10.0.0.7:8450')).toBeUndefined();
    expect(tokenRpIdFor('not a url')).toBeUndefined();
  });

  it('extensionRelyingParties: Chromium origin = RP ID; the Firefox origin only with the named web domains', () => {
    expect(extensionRelyingParties()).toEqual([{ origin: EXTENSION_ORIGIN, rpIds: [EXTENSION_ORIGIN] }]);
    expect(extensionRelyingParties({ firefoxRpIds: ['Shop.Example'] })).toEqual([
      { origin: EXTENSION_ORIGIN, rpIds: [EXTENSION_ORIGIN] },
      { origin: FIREFOX_WEBAUTHN_ORIGIN, rpIds: ['shop.example'] },
    ]);
    expect(() => extensionRelyingParties({ firefoxRpIds: ['127.0.0.1'] })).toThrow(expect.objectContaining({ code: 'ERR_SCHEMA' }));
  });
});

describe('webauthn-ES256 statements made in Firefox (fast path = @simplewebauthn/server)', () => {
  it('the order real Firefox signed verifies for the pinned add-on and its RP ID, with UV', async () => {
    expect(await outcome(FIREFOX_ORDER)).toEqual({ ok: true, userVerified: true });
    const clientData = JSON.parse(new TextDecoder().decode(decodeBase64url(FIREFOX_ORDER.signature.clientDataJSON)));
    // Firefox writes crossOrigin: false, like Chromium (the fast path takes such assertions).
    expect(clientData).toMatchObject({ type: 'webauthn.get', origin: FIREFOX_WEBAUTHN_ORIGIN, crossOrigin: false });
    expect(decodeBase64url(FIREFOX_ORDER.signature.authenticatorData).subarray(0, 32)).toEqual(await sha256(utf8(RP_ID)));
  });

  it('the real Firefox order is refused by a verifier for Chromium only, for another add-on, or for another RP ID', async () => {
    expectRefused(await outcome(FIREFOX_ORDER, { expectedOrigins: [EXTENSION_ORIGIN], expectedRpIds: [EXTENSION_ORIGIN] }), 'rp-id');
    const otherAddOn = await firefoxWebAuthnOrigin('other@add-on.example');
    expectRefused(await outcome(FIREFOX_ORDER, { relyingParties: [{ origin: otherAddOn, rpIds: [RP_ID] }] }), 'origin');
    expectRefused(await outcome(FIREFOX_ORDER, { relyingParties: extensionRelyingParties({ firefoxRpIds: ['shop.example'] }) }), 'rp-id');
  });

  it('a Firefox-shaped assertion (soft authenticator) verifies; Chromium-shaped ones still do under the same verifier', async () => {
    const ff = await firefoxToken();
    expect(await outcome(await ff.signStatement(unsigned))).toEqual({ ok: true, userVerified: true });
    const chromium = await SoftAuthenticator.create({ rpId: EXTENSION_ORIGIN, origin: EXTENSION_ORIGIN });
    expect(await outcome(await chromium.signStatement(unsigned))).toEqual({ ok: true, userVerified: true });
  });

  describe('attacks, each refused with ERR_WEBAUTHN naming the check', () => {
    it('an assertion whose rpIdHash is that of another domain than the RP ID the signer names', async () => {
      const ff = await firefoxToken();
      expectRefused(await outcome(await ff.signStatement(unsigned, { rpId: 'evil.example' })), 'rp-id');
    });

    it("a foreign moz-extension origin (another add-on with the same host permission, or the page's own UUID origin)", async () => {
      for (const origin of [await firefoxWebAuthnOrigin('evil@add-on.example'), 'moz-extension://5e3b2a1c-0d4f-4e6a-9b8c-7a6f5e4d3c2b']) {
        const ff = await firefoxToken(origin);
        const o = await outcome(await ff.signStatement(unsigned));
        expectRefused(o, 'origin');
        expect(o.ok ? '' : o.message).toMatch(/wrong origin/);
      }
    });

    it("a web origin instead of the extension's: the site at the RP ID made the assertion", async () => {
      for (const origin of [`https://${RP_ID}`, `http://${RP_ID}:8451`, 'https://evil.example']) {
        const ff = await firefoxToken(origin);
        expectRefused(await outcome(await ff.signStatement(unsigned)), 'origin');
      }
    });

    it("an origin with another browser's RP ID: the Firefox origin with Chromium's RP ID, Chromium's origin with the web domain", async () => {
      const crossed1 = await SoftAuthenticator.create({ rpId: EXTENSION_ORIGIN, origin: FIREFOX_WEBAUTHN_ORIGIN });
      const o1 = await outcome(await crossed1.signStatement(unsigned));
      expectRefused(o1, 'rp-id');
      expect(o1.ok ? '' : o1.message).toMatch(/not accepted with origin/);
      const crossed2 = await SoftAuthenticator.create({ rpId: RP_ID, origin: EXTENSION_ORIGIN });
      expectRefused(await outcome(await crossed2.signStatement(unsigned)), 'rp-id');
    });

    it('a signer naming a web domain the verifier does not accept', async () => {
      const ff = await firefoxToken(FIREFOX_WEBAUTHN_ORIGIN, 'shop.example');
      expectRefused(await outcome(await ff.signStatement(unsigned)), 'rp-id');
    });

    it('UP missing, or UV missing where required', async () => {
      const ff = await firefoxToken();
      expectRefused(await outcome(await ff.signStatement(unsigned, { flags: FLAG_UV })), 'user-presence');
      expectRefused(await outcome(await ff.signStatement(unsigned, { flags: FLAG_UP })), 'user-verification');
    });
  });

  it('a verifier needs an RP ID for every origin', () => {
    expect(() => createWebAuthnVerifier({ relyingParties: [] })).toThrow(expect.objectContaining({ code: 'ERR_WEBAUTHN' }));
    expect(() => createWebAuthnVerifier({ relyingParties: [{ origin: FIREFOX_WEBAUTHN_ORIGIN, rpIds: [] }] })).toThrow(
      expect.objectContaining({ code: 'ERR_WEBAUTHN' }),
    );
  });
});

describe('evidence bundles (offline, default origins)', () => {
  const deal = (id: string) => ({ id, kind: 'purchase', exporter: 'extension' });
  it("a Firefox-signed order checks out offline for the pinned add-on; the RP ID's web site as origin does not", async () => {
    const good = await verifyBundle(await buildBundle({ deal: deal(FIREFOX_ORDER.dealId), statements: [FIREFOX_ORDER as never] }), { roots: [] });
    expect(good.statements[0]).toMatchObject({ ok: true, problems: [] });
    expect(good.statements[0]!.signer).toMatch(/RP ID localhost/);
    const site = await firefoxToken(`https://${RP_ID}`);
    const fromSite = await site.signStatement(unsigned);
    const bad = await verifyBundle(await buildBundle({ deal: deal(unsigned.dealId), statements: [fromSite as never] }), { roots: [] });
    expect(bad.statements[0]!.ok).toBe(false);
    expect(bad.statements[0]!.problems).toEqual([expect.objectContaining({ code: 'ERR_WEBAUTHN' })]);
  });
});

describe('registration in Firefox (attestation "none")', () => {
  const challenge = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
  const opts = { expectedChallenge: challenge, expectedOrigin: FIREFOX_WEBAUTHN_ORIGIN, expectedRpId: RP_ID };

  it('a credential for the web-domain RP ID from the pinned add-on registers', async () => {
    const ff = await firefoxToken();
    expect(await verifyRegistration({ response: await ff.makeCredential(challenge), ...opts })).toMatchObject({ credentialId: ff.credentialId, jwk: ff.jwk });
  });

  it('refused: another add-on, the site itself, another RP ID', async () => {
    const ff = await firefoxToken();
    const reg = async (o: Parameters<SoftAuthenticator['makeCredential']>[1]) =>
      verifyRegistration({ response: await ff.makeCredential(challenge, o), ...opts }).then(
        () => 'accepted',
        (e: { code?: string; details?: { check?: string } }) => `${e.code}:${e.details?.check}`,
      );
    expect(await reg({ origin: await firefoxWebAuthnOrigin('evil@add-on.example') })).toBe('ERR_WEBAUTHN:origin');
    expect(await reg({ origin: `https://${RP_ID}` })).toBe('ERR_WEBAUTHN:origin');
    expect(await reg({ rpId: 'evil.example' })).toBe('ERR_WEBAUTHN:rp-id');
  });
});
