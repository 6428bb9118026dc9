/**
 * Hardware-token signatures over Semper statements (WebAuthn L3, https://www.w3.org/TR/webauthn-3/).
 *
 * A `webauthn-ES256` statement signature is a WebAuthn assertion whose challenge is
 * SHA-256(signingInput(statement)) (statements/sign.ts). The verifier runs the relying-party
 * checks of WebAuthn L3 §7.2 through @simplewebauthn/server, once per statement, offline:
 *   - clientDataJSON.type is "webauthn.get" (step 11);
 *   - clientDataJSON.challenge is base64url(SHA-256(signing input)) (step 12);
 *   - clientDataJSON.origin is an expected origin (step 13), and the assertion was made in a
 *     top-level document (crossOrigin not true, step 14);
 *   - authenticatorData.rpIdHash is SHA-256 of the signer's rpId, itself an expected RP ID (step 15);
 *   - the UP flag is set (step 16), the UV flag too if user verification is required (step 17);
 *   - the signature over authenticatorData ‖ SHA-256(clientDataJSON) verifies under the
 *     credential public key named in the (signed) signer block (steps 19-20).
 * Signature counters (step 22) are NOT enforced: a statement is verified long after it was signed,
 * by parties who never saw the credential's other assertions, so there is no stored counter to
 * compare against. Every verification passes a stored counter of 0, which disables the check.
 *
 * Every failure is SemperError('ERR_WEBAUTHN') whose message starts with the check that failed
 * and whose `details.check` names it for code (WebAuthnCheck).
 *
 * In Chromium an extension page's RP ID is its origin string `chrome-extension://<id>` (not the
 * bare id), so the rpIdHash is SHA-256 of that string; clientDataJSON.origin is the same string.
 * Firefox refuses that RP ID (SecurityError): an extension page must name a web-domain RP ID its
 * host permissions cover, and clientDataJSON.origin is then `moz-extension://<SHA-256 of the add-on
 * id>` (core/protocol/extension-id.ts); `relyingParties` pairs each origin with the RP IDs it may use.
 *
 * Fast path: an assertion as browsers make them for statements (clientDataJSON without crossOrigin,
 * topOrigin or tokenBinding; authenticatorData of 37 bytes or less, no AT or ED flag) is checked
 * here, the same checks in the library's order with its messages, against the cached imported key
 * and the cached rpIdHash, without the library's COSE round trip and key import. Everything else
 * goes to @simplewebauthn/server. test/core/crypto/webauthn-differential.test.ts runs every test
 * vector through both and expects the same outcome, check and message.
 */
import type {
  AuthenticationResponseJSON,
  RegistrationResponseJSON,
  VerifyAuthenticationResponseOpts,
  VerifyRegistrationResponseOpts,
} from '@simplewebauthn/server';
import { bytesEqual, decodeBase64url, encodeBase64url, sha256, sha256Base64urlSync, sha256Sync } from '../encoding/index.js';
import { SemperError, isSemperError } from '../errors.js';
import { signingInput } from '../statements/sign.js';
import type { SignatureBlock, SignerRef, UnsignedStatement } from '../statements/schema.js';
import type { WebAuthnStatementVerifier } from '../statements/verify.js';
import { coseToJwk, jwkToCose } from './cose.js';
import { ecdsaDerToRaw } from './ecdsa-der.js';
import type { PublicJwk } from './jwk.js';
import { importPublicJwk, verifyRaw } from './keys.js';

/** What Semper uses of @simplewebauthn/server (the library satisfies it as it is). */
export interface WebAuthnLibrary {
  verifyAuthenticationResponse(opts: VerifyAuthenticationResponseOpts): Promise<{ verified: boolean; authenticationInfo: { userVerified: boolean } }>;
  verifyRegistrationResponse(opts: VerifyRegistrationResponseOpts): Promise<{
    verified: boolean;
    registrationInfo?: { fmt: string; aaguid: string; userVerified: boolean; credential: { id: string; publicKey: Uint8Array } } | undefined;
  }>;
}

/**
 * @simplewebauthn/server: registration, and the assertions the fast path hands over (below), loaded
 * on first use (issue 13: it is not needed for a first message). Chromium refuses import() in the
 * extension's service worker, so the worker supplies the library as an offscreen task instead
 * (extension/worker/offscreen.ts, useWebAuthnLibrary).
 */
let library = (): Promise<WebAuthnLibrary> => import('@simplewebauthn/server');

/** Where import() cannot load the library (Chromium's extension service worker): how to reach it instead. */
export function useWebAuthnLibrary(load: () => Promise<WebAuthnLibrary>): void {
  library = load;
}

export { coseToJwk, jwkToCose } from './cose.js';
export type { AuthenticationResponseJSON, RegistrationResponseJSON };

export type WebAuthnSignatureBlock = Extract<SignatureBlock, { alg: 'webauthn-ES256' }>;
export type WebAuthnSignerRef = Extract<SignerRef, { kind: 'webauthn' }>;

/** The check that failed, as `details.check` of an ERR_WEBAUTHN error. */
export type WebAuthnCheck =
  | 'signer'
  | 'encoding'
  | 'client-data'
  | 'type'
  | 'challenge'
  | 'origin'
  | 'rp-id'
  | 'authenticator-data'
  | 'user-presence'
  | 'user-verification'
  | 'signature'
  | 'credential-id'
  | 'algorithm'
  | 'attestation'
  | 'assertion';

const LABEL: Record<WebAuthnCheck, string> = {
  signer: 'wrong signer',
  encoding: 'bad encoding',
  'client-data': 'bad clientDataJSON',
  type: 'wrong type',
  challenge: 'wrong challenge',
  origin: 'wrong origin',
  'rp-id': 'wrong RP ID',
  'authenticator-data': 'bad authenticatorData',
  'user-presence': 'UP missing',
  'user-verification': 'UV missing',
  signature: 'bad signature',
  'credential-id': 'wrong credential id',
  algorithm: 'wrong algorithm',
  attestation: 'bad attestation',
  assertion: 'assertion rejected',
};

function webauthnError(check: WebAuthnCheck, message: string): SemperError {
  return new SemperError('ERR_WEBAUTHN', `WebAuthn ${LABEL[check]}: ${message}`, { check });
}

/**
 * @simplewebauthn/server reports failures as plain Errors; name the check each one is about.
 * (Matched on the v14 messages; anything unrecognised is still ERR_WEBAUTHN, as 'assertion'.)
 */
const LIBRARY_MESSAGES: readonly [RegExp, WebAuthnCheck, string][] = [
  [/^Unexpected (authentication|registration) response type/, 'type', 'clientDataJSON.type is not the expected ceremony type'],
  [
    /^Unexpected (authentication|registration) response challenge/,
    'challenge',
    "clientDataJSON.challenge is not base64url(SHA-256) of this statement's signing input",
  ],
  [/^(Detected cross-origin|Unexpected cross-origin|Unexpected top origin)/, 'origin', 'the assertion was made in a cross-origin frame'],
  [/^Unexpected (authentication|registration) response origin/, 'origin', 'clientDataJSON.origin is not an expected origin'],
  [/^Unexpected RP ID hash/, 'rp-id', 'authenticatorData.rpIdHash is not SHA-256 of the expected RP ID'],
  [/^(User not present|User presence was required)/, 'user-presence', 'the UP (user present) flag is not set'],
  [/^User verification (was )?required/, 'user-verification', 'user verification is required but the UV flag is not set'],
  [/^(Authenticator data was|Leftover bytes)/, 'authenticator-data', 'authenticatorData is malformed'],
  [
    /^(ClientDataJSON tokenBinding|Unexpected tokenBinding|Unexpected value for TokenBinding|Credential response clientDataJSON)/,
    'client-data',
    'clientDataJSON is malformed',
  ],
  [/^Unexpected public key alg/, 'algorithm', 'the credential is not an ES256 (COSE -7) key'],
  [/[Aa]ttestation|^No AAGUID|^No public key|^No credential ID/, 'attestation', 'the attestation object does not verify'],
  [/^(Missing credential ID|Credential ID was not|Unexpected credential type|Credential missing)/, 'credential-id', 'the credential id or type is malformed'],
];

function fromLibraryError(e: unknown): SemperError {
  if (isSemperError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  for (const [pattern, check, text] of LIBRARY_MESSAGES) {
    if (pattern.test(message)) return webauthnError(check, `${text} (${message})`);
  }
  return webauthnError('assertion', message);
}

/** Strict base64url (RFC 4648 §5, canonical) for a named field, as ERR_WEBAUTHN. */
function decodeField(name: string, text: string): Uint8Array<ArrayBuffer> {
  try {
    return decodeBase64url(text);
  } catch {
    throw webauthnError('encoding', `${name} is not canonical base64url (RFC 4648 §5)`);
  }
}

interface ClientData {
  type?: unknown;
  challenge?: unknown;
  origin?: unknown;
  crossOrigin?: unknown;
  topOrigin?: unknown;
  tokenBinding?: unknown;
}

/** Fatal: bytes that are not UTF-8 are refused, not replaced. One decoder: decode() keeps no state between calls without `stream`. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function parseClientData(bytes: Uint8Array<ArrayBuffer>): ClientData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw webauthnError('client-data', 'clientDataJSON is not UTF-8 JSON (WebAuthn L3 §5.8.1)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw webauthnError('client-data', 'clientDataJSON is not a JSON object (WebAuthn L3 §5.8.1)');
  }
  return parsed as ClientData;
}

/**
 * COSE forms of recent credential keys, by their coordinates: a verifier sees the same few tokens
 * again and again, and jwkToCose decodes both coordinates (strictly) every time. Only keys that
 * converted are kept. Shared: the one reader that needs the bytes (the library path) gets a copy.
 */
const coseKeys = new Map<string, Uint8Array<ArrayBuffer>>();

/** A P-256 credential key in COSE form, or ERR_WEBAUTHN naming the signer. */
function credentialCose(jwk: PublicJwk): Uint8Array<ArrayBuffer> {
  // Both coordinates 43 characters (32 bytes): the joined text names exactly one pair.
  const cacheKey = jwk.kty === 'EC' && jwk.crv === 'P-256' && jwk.x.length === 43 && jwk.y.length === 43 ? jwk.x + jwk.y : undefined;
  const known = cacheKey === undefined ? undefined : coseKeys.get(cacheKey);
  if (known) return known;
  let cose: Uint8Array<ArrayBuffer>;
  try {
    cose = jwkToCose(jwk);
  } catch {
    throw webauthnError('signer', 'webauthn-ES256 needs a P-256 credential key');
  }
  if (cacheKey !== undefined) {
    if (coseKeys.size >= 64) coseKeys.delete(coseKeys.keys().next().value!);
    coseKeys.set(cacheKey, cose);
  }
  return cose;
}

/**
 * An origin and the RP IDs accepted with it. Chromium: `chrome-extension://<id>` for both. Firefox
 * (150+): `moz-extension://<SHA-256 of the add-on id>` (core/protocol/extension-id.ts) with a web-domain
 * RP ID its host permissions cover, e.g. the verifying party's domain.
 */
export interface WebAuthnRelyingParty {
  origin: string;
  rpIds: readonly string[];
}

interface WebAuthnVerifierCommon {
  /** Refuse assertions without the UV flag. Defaults to true; pass false to accept presence-only tokens. */
  requireUserVerification?: boolean;
  /** 'fast' (default): the fast path, the library for the rest; 'library': always @simplewebauthn/server (the differential test). */
  implementation?: 'fast' | 'library';
}

export type WebAuthnVerifierOptions = WebAuthnVerifierCommon &
  (
    | {
        /** Accepted clientDataJSON.origin values, e.g. `chrome-extension://<id>` of the pinned extension. */
        expectedOrigins: readonly string[];
        /** Accepted RP IDs (with any of the origins); the signer's rpId must be one of them. Chromium extension pages: `chrome-extension://<id>`. */
        expectedRpIds: readonly string[];
        relyingParties?: never;
      }
    | {
        /**
         * Accepted (origin, RP ID) pairs: clientDataJSON.origin must be one of these origins and the
         * signer's rpId one of the RP IDs listed with THAT origin (so a Firefox origin does not make a
         * Chromium RP ID acceptable, nor the reverse).
         */
        relyingParties: readonly WebAuthnRelyingParty[];
        expectedOrigins?: never;
        expectedRpIds?: never;
      }
  );

/** The verifier `verifyStatement(…, { webauthn })` calls for `webauthn-ES256` signatures. */
export function createWebAuthnVerifier(options: WebAuthnVerifierOptions): WebAuthnStatementVerifier {
  const parties: WebAuthnRelyingParty[] = options.relyingParties
    ? options.relyingParties.map((p) => ({ origin: p.origin, rpIds: [...p.rpIds] }))
    : options.expectedOrigins.map((origin) => ({ origin, rpIds: [...options.expectedRpIds] }));
  const expectedOrigins = [...new Set(parties.map((p) => p.origin))];
  const expectedRpIds = [...new Set(parties.flatMap((p) => p.rpIds))];
  const requireUserVerification = options.requireUserVerification ?? true;
  const implementation = options.implementation ?? 'fast';
  if (expectedOrigins.length === 0 || expectedRpIds.length === 0 || parties.some((p) => p.rpIds.length === 0)) {
    throw new SemperError('ERR_WEBAUTHN', 'a WebAuthn verifier needs at least one expected origin and one expected RP ID');
  }

  return {
    async verify(signature, input) {
      const { signer } = signature;
      if (signer.kind !== 'webauthn') throw webauthnError('signer', 'a webauthn-ES256 signature needs a webauthn signer');
      if (!expectedRpIds.includes(signer.rpId)) {
        throw webauthnError('rp-id', `the signer's RP ID ${JSON.stringify(signer.rpId)} is not an expected RP ID`);
      }
      const publicKey = credentialCose(signer.jwk);
      // Strict encodings: one signed statement has one text form (and so one digest).
      const authenticatorData = decodeField('authenticatorData', signature.authenticatorData);
      const clientDataBytes = decodeField('clientDataJSON', signature.clientDataJSON);
      const clientData = parseClientData(clientDataBytes);
      // The RP ID must go with the origin that made the assertion (both paths check this the same way,
      // before either runs; an origin that is not expected at all is left to their origin check).
      if (!rpIdGoesWithOrigin(signer.rpId, clientData.origin)) {
        throw webauthnError('rp-id', `the signer's RP ID ${JSON.stringify(signer.rpId)} is not accepted with origin ${JSON.stringify(clientData.origin)}`);
      }
      let raw: Uint8Array<ArrayBuffer>;
      try {
        raw = ecdsaDerToRaw(decodeField('signature value', signature.value));
      } catch (e) {
        throw isSemperError(e) && e.code === 'ERR_WEBAUTHN'
          ? e
          : webauthnError('signature', `not a DER ECDSA signature (${e instanceof Error ? e.message : String(e)})`);
      }

      // sha256Sync where the runtime hashes synchronously (Node): `await` would cost an event-loop
      // turn even for a value at hand, one the floor this is measured against (issue 13) does not take.
      const expectedChallenge = sha256Base64urlSync(input) ?? encodeBase64url(await sha256(input));
      const fast = implementation === 'fast' ? await verifyFast(signature, authenticatorData, clientDataBytes, clientData, raw, expectedChallenge) : FALLBACK;
      const result = fast === FALLBACK ? await verifyWithLibrary(signature, expectedChallenge, publicKey) : fast;
      if (!result.verified) {
        throw webauthnError('signature', 'the signature over authenticatorData ‖ SHA-256(clientDataJSON) does not verify under the credential public key');
      }
      // WebAuthn L3 §7.2 step 14: statements are signed in the extension's own top-level window, never in a frame.
      if (clientData.crossOrigin === true) throw webauthnError('origin', 'the assertion was made in a cross-origin frame (clientDataJSON.crossOrigin)');
      return { userVerified: result.userVerified };
    },
  };

  /** False when the origin is an expected one and none of its entries lists the RP ID (an unexpected origin is the origin check's). */
  function rpIdGoesWithOrigin(rpId: string, origin: unknown): boolean {
    let known = false;
    for (const p of parties) {
      if (p.origin !== origin) continue;
      if (p.rpIds.includes(rpId)) return true;
      known = true;
    }
    return !known;
  }

  async function verifyWithLibrary(signature: WebAuthnSignatureBlock, expectedChallenge: string, publicKey: Uint8Array<ArrayBuffer>): Promise<Checked> {
    const signer = signature.signer as WebAuthnSignerRef;
    const response: AuthenticationResponseJSON = {
      id: signer.credentialId,
      rawId: signer.credentialId,
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: signature.clientDataJSON, authenticatorData: signature.authenticatorData, signature: signature.value },
    };
    try {
      const { verifyAuthenticationResponse } = await library();
      const result = await verifyAuthenticationResponse({
        response,
        expectedType: 'webauthn.get',
        expectedChallenge,
        expectedOrigin: expectedOrigins,
        // The rpIdHash must be that of the RP ID the signer block names (and signs), not just any expected one.
        expectedRPID: [signer.rpId],
        // Stored counter 0: counters are not enforced for offline statement verification (see above).
        credential: { id: signer.credentialId, publicKey: publicKey.slice(), counter: 0 },
        requireUserVerification,
      });
      return { verified: result.verified, userVerified: result.authenticationInfo.userVerified };
    } catch (e) {
      throw fromLibraryError(e);
    }
  }

  /** The library's checks, in its order and with its messages, for the assertions browsers make; FALLBACK for anything else. */
  async function verifyFast(
    signature: WebAuthnSignatureBlock,
    authData: Uint8Array<ArrayBuffer>,
    clientDataBytes: Uint8Array<ArrayBuffer>,
    clientData: ClientData,
    raw: Uint8Array<ArrayBuffer>,
    expectedChallenge: string,
  ): Promise<Checked | typeof FALLBACK> {
    const { type, challenge, origin, crossOrigin, topOrigin, tokenBinding } = clientData;
    if (crossOrigin || topOrigin || tokenBinding) return FALLBACK;
    if (type !== 'webauthn.get') throw libraryError(`Unexpected authentication response type "${type}", expected "webauthn.get"`);
    if (challenge !== expectedChallenge) throw libraryError(`Unexpected authentication response challenge "${challenge}", expected "${expectedChallenge}"`);
    if (!expectedOrigins.includes(origin as string)) {
      throw libraryError(`Unexpected authentication response origin "${origin}", expected one of: ${expectedOrigins.join(', ')}`);
    }
    if (authData.byteLength < 37) throw libraryError(`Authenticator data was ${authData.byteLength} bytes, expected at least 37 bytes`);
    const flags = authData[32]!;
    // Attested credential data or extensions: the library parses their CBOR.
    if (flags & (FLAG_AT | FLAG_ED)) return FALLBACK;
    if (authData.byteLength > 37) throw libraryError('Leftover bytes detected while parsing authenticator data');
    const signer = signature.signer as WebAuthnSignerRef;
    if (!bytesEqual(authData.subarray(0, 32), rpIdHashes.get(signer.rpId) ?? (await rpIdHash(signer.rpId)))) throw libraryError('Unexpected RP ID hash');
    if (!(flags & FLAG_UP)) throw libraryError('User not present during authentication');
    const userVerified = (flags & FLAG_UV) !== 0;
    if (requireUserVerification && !userVerified) throw libraryError('User verification required, but user could not be verified');
    const clientDataHash = sha256Sync(clientDataBytes) ?? (await sha256(clientDataBytes));
    const signed = new Uint8Array(authData.byteLength + clientDataHash.byteLength);
    signed.set(authData, 0);
    signed.set(clientDataHash, authData.byteLength);
    let verified: boolean;
    try {
      verified = await verifyRaw('ES256', signer.jwk, signed, raw);
    } catch {
      // A key that does not import (or is no P-256 key): the library names that failure its own way.
      return FALLBACK;
    }
    return { verified, userVerified };
  }
}

interface Checked {
  verified: boolean;
  userVerified: boolean;
}

const FALLBACK = Symbol('to the library');
const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;
const FLAG_ED = 0x80;

/** A failure the library would have reported with this message, named the same way. */
function libraryError(message: string): SemperError {
  return fromLibraryError(new Error(message));
}

/** RP ID hashes computed so far (bounded), read without awaiting. */
const rpIdHashes = new Map<string, Uint8Array<ArrayBuffer>>();

/** SHA-256 of an RP ID's characters as the library hashes them (one byte per UTF-16 unit, as Uint8Array.from keeps it). */
async function rpIdHash(rpId: string): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(rpId.length);
  for (let i = 0; i < rpId.length; i++) bytes[i] = rpId.charCodeAt(i);
  const hash = await sha256(bytes);
  if (rpIdHashes.size >= 64) rpIdHashes.delete(rpIdHashes.keys().next().value!);
  rpIdHashes.set(rpId, hash);
  return hash;
}

/** The `{alg, signer}` a webauthn-ES256 statement is signed under (signingInput covers both). */
export type WebAuthnStatementToSign = UnsignedStatement<unknown> & { signature: { alg: 'webauthn-ES256'; signer: WebAuthnSignerRef } };

/** The WebAuthn challenge for a statement: base64url(SHA-256(signingInput)), to pass to `startAuthentication`. */
export async function challengeForStatement(statement: WebAuthnStatementToSign): Promise<string> {
  if (statement.signature.alg !== 'webauthn-ES256' || statement.signature.signer.kind !== 'webauthn') {
    throw webauthnError('signer', 'a WebAuthn challenge is only made for webauthn-ES256 statements with a webauthn signer');
  }
  return encodeBase64url(await sha256(signingInput(statement)));
}

export interface AssertionToBlock {
  /** What @simplewebauthn/browser's `startAuthentication` resolved with. */
  response: AuthenticationResponseJSON;
  jwk: PublicJwk;
  credentialId: string;
  rpId: string;
}

/**
 * The statement signature block for an assertion made over `challengeForStatement(…)` with the
 * same signer. Only the shape is checked here; `verifyStatement` checks the rest.
 */
export function signatureBlockFromAssertion({ response, jwk, credentialId, rpId }: AssertionToBlock): WebAuthnSignatureBlock {
  if (response.type !== 'public-key') throw webauthnError('credential-id', `credential type is ${JSON.stringify(response.type)}, expected "public-key"`);
  if (response.id !== credentialId || response.rawId !== credentialId) {
    throw webauthnError('credential-id', 'the assertion was made by another credential than the signer names');
  }
  credentialCose(jwk);
  const { authenticatorData, clientDataJSON, signature } = response.response;
  decodeField('authenticatorData', authenticatorData);
  decodeField('clientDataJSON', clientDataJSON);
  decodeField('signature', signature);
  return {
    alg: 'webauthn-ES256',
    signer: { kind: 'webauthn', jwk, credentialId, rpId },
    value: signature,
    authenticatorData,
    clientDataJSON,
  };
}

export interface VerifyRegistrationOptions {
  /** What @simplewebauthn/browser's `startRegistration` resolved with. */
  response: RegistrationResponseJSON;
  /** The base64url challenge given to `startRegistration`. */
  expectedChallenge: string;
  expectedOrigin: string | readonly string[];
  expectedRpId: string;
  /** Refuse credentials created without UV. Defaults to true. */
  requireUserVerification?: boolean;
}

export interface VerifiedRegistration {
  /** base64url credential id, as the signer block names it. */
  credentialId: string;
  jwk: PublicJwk;
  userVerified: boolean;
  /** Authenticator model (UUID form); all zeros for 'none' attestation from most platforms. */
  aaguid: string;
  /** 'none', 'packed', 'fido-u2f', … Attestation trust is not evaluated beyond the format's own checks. */
  attestationFormat: string;
}

/**
 * Verify a registration (WebAuthn L3 §7.1) and return the credential a `webauthn` signer names.
 * Only ES256 (COSE -7) P-256 credentials are accepted (coseToJwk), since statements name `webauthn-ES256`.
 */
export async function verifyRegistration(options: VerifyRegistrationOptions): Promise<VerifiedRegistration> {
  let result: Awaited<ReturnType<WebAuthnLibrary['verifyRegistrationResponse']>>;
  try {
    const { verifyRegistrationResponse } = await library();
    result = await verifyRegistrationResponse({
      response: options.response,
      expectedType: 'webauthn.create',
      expectedChallenge: options.expectedChallenge,
      expectedOrigin: typeof options.expectedOrigin === 'string' ? options.expectedOrigin : [...options.expectedOrigin],
      expectedRPID: options.expectedRpId,
      requireUserPresence: true,
      requireUserVerification: options.requireUserVerification ?? true,
      // No supportedAlgorithmIDs: which keys are accepted is decided once, below (coseToJwk takes an
      // EC2 / ES256 / P-256 COSE_Key and nothing else), whatever algorithms the library knows.
    });
  } catch (e) {
    throw fromLibraryError(e);
  }
  // The library returns registrationInfo exactly when the attestation statement verified.
  if (!result.registrationInfo) throw webauthnError('attestation', 'the attestation statement does not verify');
  const info = result.registrationInfo;
  // The response's id is not covered by the attestation; the id in the attested credential data is.
  if (options.response.id !== info.credential.id) {
    throw webauthnError('credential-id', 'the response id differs from the credential id in the attested credential data');
  }
  let jwk: PublicJwk;
  try {
    jwk = coseToJwk(info.credential.publicKey);
    await importPublicJwk(jwk);
  } catch (e) {
    throw webauthnError('algorithm', `the credential public key is not a usable P-256 key (${e instanceof Error ? e.message : String(e)})`);
  }
  return { credentialId: info.credential.id, jwk, userVerified: info.userVerified, aaguid: info.aaguid, attestationFormat: info.fmt };
}
