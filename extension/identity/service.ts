/**
 * The shopper's identity in the worker: personalisation (security phrase + picture), the device
 * identity and its registration with a CA (PKCS #10 → certificate), rotation and revocation,
 * hardware tokens (WebAuthn registration and the order a token signs), and the settings the
 * shopper machine reads (the hardware-token threshold).
 *
 * All I/O is injected (records, fetch, clock, session storage for registration challenges), so
 * the same code runs in the service worker and in Node tests.
 */
import { SemperError, type SemperErrorCode } from '../../core/errors.js';
import { jwkThumbprint, type PublicJwk } from '../../core/crypto/index.js';
import { encodeBase64url } from '../../core/encoding/index.js';
import {
  challengeForStatement,
  verifyRegistration,
  type RegistrationResponseJSON,
  type WebAuthnSignerRef,
  type WebAuthnStatementToSign,
} from '../../core/crypto/webauthn.js';
import { readCertificate, validateChain } from '../../core/pki/certificates.js';
import { createCertificationRequest } from '../../core/pki/csr.js';
import {
  HolderRevocationReason,
  RegistrationResponse,
  RevocationResponse,
  normaliseRegistrationCode,
  unsignedRevocationRequest,
} from '../../core/pki/registration.js';
import { signStatement, type Statement, type UnsignedStatement } from '../../core/statements/index.js';
import { orderToSign, type ShopperPolicy, type ShopperState } from '../../core/commerce/shopper.js';
import { Money } from '../../core/protocol/commerce.js';
import { normaliseTokenRpId } from '../../core/protocol/extension-id.js';
import { DEFAULT_HARDWARE_TOKEN_ABOVE, SettingsReader, settingsViewOf, tokenRpIdOf } from './settings-view.js';
import { postJson } from '../worker/http.js';
import { partyOrigin } from '../worker/sender.js';
import { summariseKey, type KeyStore, type KeySummary, type StoredKey } from './key-store.js';

export { DEFAULT_CA_URL, DEFAULT_HARDWARE_TOKEN_ABOVE } from './settings-view.js';
/** Built-in pictures to choose from (extension/ui/emblems.tsx). */
export const EMBLEM_COUNT = 12;
export const PHRASE_MIN = 3;
export const PHRASE_MAX = 64;
/** A registration challenge is good for this long, once. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
export const CA_TIMEOUT_MS = 20_000;
const CA_MAX_RESPONSE_BYTES = 200_000;
/** The informational CN of the shopper's CSR (the CA puts the name from its own records). */
export const CSR_COMMON_NAME = 'Semper shopper';

export interface StoredToken {
  /** base64url credential id, as a webauthn signer names it. */
  credentialId: string;
  jwk: PublicJwk;
  /** Chromium: `chrome-extension://<id>`, the RP ID it gives extension pages; Firefox: the web domain registered for (ShopperSettings.tokenRpId). */
  rpId: string;
  label: string;
  userVerifiedAtRegistration: boolean;
  createdAt: number;
  aaguid: string;
  attestationFormat: string;
  lastUsedAt?: number;
}

export interface TokenRecords {
  list(): Promise<StoredToken[]>;
  get(credentialId: string): Promise<StoredToken | undefined>;
  put(token: StoredToken): Promise<void>;
  delete(credentialId: string): Promise<boolean>;
}

export interface Personalisation {
  phrase: string;
  /** Index into the built-in emblems (0 … EMBLEM_COUNT-1). */
  picture: number;
  setAt: number;
}

/** What `settings.get` answers. */
export interface SettingsView {
  hardwareTokenAbove: Money | null;
  caUrl: string;
  /** Firefox only: the web-domain RP ID for new security keys (null: the CA's domain). */
  tokenRpId?: string | null;
}

export interface ShopperSettings {
  personalisation?: Personalisation;
  caUrl?: string;
  /** undefined: the default; null: no threshold (only merchants' demands). */
  hardwareTokenAbove?: Money | null;
  /** WebAuthn user handle (random, stable): one per shopper. */
  userHandle?: string;
  /** When the shopper last read the notices (extension/notices), epoch ms. */
  noticesSeenAt?: number;
  /**
   * Firefox only: the web-domain RP ID new security keys are registered for (the verifying parties
   * must accept it with the add-on's WebAuthn origin). undefined: the CA's domain (tokenRpIdFor).
   */
  tokenRpId?: string;
}

export interface SettingsRecords {
  get(): Promise<ShopperSettings>;
  put(settings: ShopperSettings): Promise<void>;
}

export interface PendingChallenge {
  challenge: string;
  expiresAt: number;
}

export class MemoryTokenRecords implements TokenRecords {
  readonly tokens = new Map<string, StoredToken>();
  async list() {
    return [...this.tokens.values()].map((t) => ({ ...t }));
  }
  async get(id: string) {
    const t = this.tokens.get(id);
    return t ? { ...t } : undefined;
  }
  async put(t: StoredToken) {
    this.tokens.set(t.credentialId, { ...t });
  }
  async delete(id: string) {
    return this.tokens.delete(id);
  }
}

export class MemorySettingsRecords implements SettingsRecords {
  value: ShopperSettings = {};
  async get() {
    return structuredClone(this.value);
  }
  async put(s: ShopperSettings) {
    this.value = structuredClone(s);
  }
}

export interface TokenSummary {
  credentialId: string;
  label: string;
  rpId: string;
  userVerifiedAtRegistration: boolean;
  createdAt: string;
  lastUsedAt?: string;
  attestationFormat: string;
}

export function summariseToken(t: StoredToken): TokenSummary {
  return {
    credentialId: t.credentialId,
    label: t.label,
    rpId: t.rpId,
    userVerifiedAtRegistration: t.userVerifiedAtRegistration,
    createdAt: new Date(t.createdAt).toISOString(),
    ...(t.lastUsedAt !== undefined ? { lastUsedAt: new Date(t.lastUsedAt).toISOString() } : {}),
    attestationFormat: t.attestationFormat,
  };
}

export interface IdentityStatus {
  /** The shopper chose a security phrase and picture (onboarding done at least that far). */
  personalised: boolean;
  personalisation?: { phrase: string; picture: number };
  identity?: KeySummary;
  caUrl: string;
  hardwareTokenAbove: Money | null;
  tokens: TokenSummary[];
  /** Firefox only: the RP ID new security keys are registered for, or null when none can be derived (an IP-address CA). */
  tokenRpId?: string | null;
}

/**
 * What `startRegistration` gets (PublicKeyCredentialCreationOptionsJSON). Chromium: rp.id is left to
 * the browser (extension pages get their origin). Firefox: rp.id is the web-domain RP ID (it refuses
 * the extension's own origin).
 */
export interface TokenRegistrationOptions {
  challenge: string;
  rp: { name: string; id?: string };
  user: { id: string; name: string; displayName: string };
  pubKeyCredParams: { type: 'public-key'; alg: number }[];
  timeout: number;
  attestation: 'none';
  excludeCredentials: { id: string; type: 'public-key' }[];
  authenticatorSelection: { residentKey: 'discouraged'; userVerification: 'preferred' };
}

/** What the trusted window needs to have a token sign an order. */
export interface TokenSigningRequest {
  /** The unsigned order with its `{alg, signer}` header (what the assertion signs). */
  order: WebAuthnStatementToSign;
  /** base64url(SHA-256(signing input)): the WebAuthn challenge. */
  challenge: string;
  userVerification: 'required' | 'preferred';
  credentialId: string;
  jwk: PublicJwk;
  rpId: string;
  /** Firefox: the rpId to pass to the ceremony (= rpId); absent in Chromium, where the browser fills in its own. */
  ceremonyRpId?: string;
}

export interface IdentityServiceDeps {
  keys: KeyStore;
  tokens: TokenRecords;
  settings: SettingsRecords;
  /** The shopper's trusted roots (base64 DER), to check a certificate the CA returns. */
  roots(): Promise<string[]>;
  fetch: typeof fetch;
  now(): number;
  randomId(bytes: number): string;
  /** `chrome-extension://<id>`: clientDataJSON.origin and RP ID of every ceremony (Chromium). */
  extensionOrigin: string;
  /**
   * Firefox: clientDataJSON.origin of its ceremonies, `moz-extension://<SHA-256 of the add-on id>`
   * (core/protocol/extension-id.ts); the RP ID is then a web domain from the settings.
   */
  firefox?: { webauthnOrigin: string | Promise<string> };
  /** Pending registration challenges, kept across a worker restart (chrome.storage.session). */
  challenges: { get(): Promise<PendingChallenge[]>; set(value: PendingChallenge[]): Promise<void> };
}

/** A CA base URL as an origin (worker/sender.ts partyOrigin). */
export function normaliseCaUrl(text: string): string {
  return partyOrigin(text, 'CA');
}

/** A security phrase: 3–64 characters after trimming, no control characters. */
export function normalisePhrase(text: string): string {
  const phrase = text.normalize('NFC').trim().replace(/\s+/g, ' ');
  const length = [...phrase].length;
  if (length < PHRASE_MIN || length > PHRASE_MAX) throw new SemperError('ERR_SCHEMA', `the security phrase must be ${PHRASE_MIN}–${PHRASE_MAX} characters`);
  if (/\p{Cc}/u.test(phrase)) throw new SemperError('ERR_SCHEMA', 'the security phrase must not contain control characters');
  return phrase;
}

const KNOWN_CA_CODES = new Set<SemperErrorCode>([
  'ERR_REGISTRATION_CODE',
  'ERR_RATE_LIMITED',
  'ERR_SCHEMA',
  'ERR_SIGNATURE_INVALID',
  'ERR_ALG_UNSUPPORTED',
  'ERR_NOT_FOUND',
  'ERR_FORBIDDEN',
  'ERR_CERT_REVOKED',
  'ERR_CERT_CHAIN',
  'ERR_CERT_UNTRUSTED',
  'ERR_CERT_EXPIRED',
  'ERR_PROTOCOL_STATE',
  'ERR_STATEMENT_TYPE',
  'ERR_REPLAY',
]);

export class IdentityService {
  /** The settings as the start script reads them (settings-view.ts): one way to read them for both. */
  private readonly reader: SettingsReader;

  constructor(private readonly deps: IdentityServiceDeps) {
    this.reader = new SettingsReader(deps.settings, deps.firefox !== undefined);
  }

  // ── settings and personalisation ──────────────────────────────────────────

  /** What `settings.get` answers: the settings record alone (no key or token read, so a first message after a start waits for one read). */
  settingsView(): Promise<SettingsView> {
    return this.reader.settingsView();
  }

  private viewOf(settings: ShopperSettings): SettingsView {
    return settingsViewOf(settings, this.deps.firefox !== undefined);
  }

  async status(): Promise<IdentityStatus> {
    const settings = await this.deps.settings.get();
    const identity = await this.deps.keys.currentIdentity();
    const p = settings.personalisation;
    return {
      personalised: p !== undefined,
      ...(p ? { personalisation: { phrase: p.phrase, picture: p.picture } } : {}),
      ...(identity ? { identity: summariseKey(identity) } : {}),
      ...this.viewOf(settings),
      tokens: (await this.deps.tokens.list()).sort((a, b) => a.createdAt - b.createdAt).map(summariseToken),
    };
  }

  async personalise(phrase: string, picture: number): Promise<{ phrase: string; picture: number }> {
    if (!Number.isInteger(picture) || picture < 0 || picture >= EMBLEM_COUNT) throw new SemperError('ERR_SCHEMA', `picture must be 0–${EMBLEM_COUNT - 1}`);
    const normalised = normalisePhrase(phrase);
    const settings = await this.deps.settings.get();
    await this.deps.settings.put({ ...settings, personalisation: { phrase: normalised, picture, setAt: this.deps.now() } });
    return { phrase: normalised, picture };
  }

  /** When the shopper last read the notices (0: never). */
  noticesSeenAt(): Promise<number> {
    return this.reader.noticesSeenAt();
  }

  async markNoticesSeen(at: number): Promise<void> {
    const settings = await this.deps.settings.get();
    await this.deps.settings.put({ ...settings, noticesSeenAt: Math.max(at, settings.noticesSeenAt ?? 0) });
  }

  async updateSettings(update: {
    hardwareTokenAbove?: Money | null;
    caUrl?: string;
    tokenRpId?: string | null;
  }): Promise<{ hardwareTokenAbove: Money | null; caUrl: string; tokenRpId?: string | null }> {
    const settings = await this.deps.settings.get();
    const next: ShopperSettings = { ...settings };
    if (update.hardwareTokenAbove !== undefined) {
      if (update.hardwareTokenAbove !== null) {
        const parsed = Money.safeParse(update.hardwareTokenAbove);
        if (!parsed.success) throw new SemperError('ERR_SCHEMA', 'the threshold must be a non-negative amount in minor units with an ISO 4217 currency');
        next.hardwareTokenAbove = parsed.data;
      } else next.hardwareTokenAbove = null;
    }
    if (update.caUrl !== undefined) next.caUrl = normaliseCaUrl(update.caUrl);
    if (update.tokenRpId !== undefined) {
      if (!this.deps.firefox) throw new SemperError('ERR_SCHEMA', 'the security-key RP ID is a Firefox setting (Chromium uses the extension origin)');
      if (update.tokenRpId === null) delete next.tokenRpId;
      else next.tokenRpId = normaliseTokenRpId(update.tokenRpId);
    }
    await this.deps.settings.put(next);
    return this.viewOf(next);
  }

  /** The shopper's policy for the purchase machine (ShopperContext.policy). */
  async policy(): Promise<ShopperPolicy> {
    const { hardwareTokenAbove } = await this.deps.settings.get();
    const limit = hardwareTokenAbove === undefined ? DEFAULT_HARDWARE_TOKEN_ABOVE : hardwareTokenAbove;
    return limit ? { hardwareTokenAbove: limit } : {};
  }

  // ── identity key, CA registration, rotation, revocation ───────────────────

  async createIdentity(): Promise<KeySummary> {
    return summariseKey(await this.deps.keys.identity());
  }

  /**
   * Register the identity key with the CA: a PKCS #10 request signed by the key itself, and a
   * one-time registration code. The certificate must certify exactly this key.
   */
  async register(caUrlText: string, registrationCode: string): Promise<KeySummary> {
    const caUrl = normaliseCaUrl(caUrlText);
    const code = normaliseRegistrationCode(registrationCode);
    if (!code) throw new SemperError('ERR_REGISTRATION_CODE', 'a registration code has 16 letters and digits (XXXX-XXXX-XXXX-XXXX)');
    const identity = await this.deps.keys.identity();
    if (identity.certificate) {
      throw new SemperError('ERR_PROTOCOL_STATE', `this identity is already certified as "${identity.certificate.name}"; rotate the key to register again`);
    }
    const csr = await createCertificationRequest({ keys: identity.pair, commonName: CSR_COMMON_NAME });
    const reply = RegistrationResponse.safeParse(await this.postToCa(caUrl, '/ca/register', { registrationCode: code, csr }));
    if (!reply.success) throw new SemperError('ERR_SCHEMA', "the CA's answer is not a registration result");
    const { certificate, name, serial } = reply.data;
    const info = await readCertificate(certificate);
    if ((await jwkThumbprint(info.publicJwk)) !== identity.keyId) throw new SemperError('ERR_CERT_CHAIN', 'the CA certified another key than this identity');
    if (info.role !== undefined && info.role !== 'shopper')
      throw new SemperError('ERR_CERT_CHAIN', `the CA issued a ${info.role} certificate, not a shopper certificate`);
    const rest = reply.data.chain.filter((c) => c !== certificate);
    let trusted = false;
    try {
      await validateChain([certificate, ...rest], { roots: await this.deps.roots(), now: new Date(this.deps.now()) });
      trusted = true;
    } catch {
      trusted = false; // kept, and shown as "not from a CA you trust"
    }
    const stored = await this.deps.keys.setCertificate(identity.keyId, {
      certificate,
      chain: rest,
      name,
      serial: serial.toLowerCase().replace(/^0+(?=.)/, ''),
      notAfter: info.notAfter.toISOString(),
      caUrl,
      issuedAt: this.deps.now(),
      trusted,
    });
    const settings = await this.deps.settings.get();
    if (settings.caUrl !== caUrl) await this.deps.settings.put({ ...settings, caUrl });
    return summariseKey(stored);
  }

  /** A new identity key; the old one stays (rotated) so archived statements still verify. */
  async rotate(): Promise<{ previous?: KeySummary; current: KeySummary }> {
    const { previous, current } = await this.deps.keys.rotateIdentity();
    return { ...(previous ? { previous: summariseKey(previous) } : {}), current: summariseKey(current) };
  }

  /**
   * Revoke a key's certificate at the CA that issued it: a `semper.ca.revocation-request`
   * statement `{serial, reason}` signed by the certified key itself (proof of possession).
   */
  async revoke(keyId: string, reasonText: string): Promise<KeySummary> {
    const reason = HolderRevocationReason.safeParse(reasonText);
    if (!reason.success) throw new SemperError('ERR_SCHEMA', `revocation reason must be one of ${HolderRevocationReason.options.join(', ')}`);
    const key = await this.deps.keys.get(keyId);
    if (!key) throw new SemperError('ERR_NOT_FOUND', `no key ${keyId}`);
    if (!key.certificate) throw new SemperError('ERR_PROTOCOL_STATE', 'this key has no certificate to revoke');
    const statement = await this.revocationRequest(key, reason.data);
    const answer = RevocationResponse.safeParse(await this.postToCa(key.certificate.caUrl, '/ca/revoke', revocationBody(statement)));
    if (!answer.success || answer.data.serial.toLowerCase() !== key.certificate.serial)
      throw new SemperError('ERR_SCHEMA', "the CA's answer is not a revocation of this certificate");
    return summariseKey(await this.deps.keys.markRevoked(keyId, answer.data.reason));
  }

  /** `semper.ca.revocation-request` {serial, reason}, signed by the certified key with signer `{kind:'x509', chain:[certificate]}`. */
  async revocationRequest(key: StoredKey, reason: HolderRevocationReason): Promise<Statement<{ serial: string; reason: HolderRevocationReason }>> {
    if (!key.certificate) throw new SemperError('ERR_PROTOCOL_STATE', 'this key has no certificate to revoke');
    const signer = await this.deps.keys.revocationSigner(key);
    return signStatement(unsignedRevocationRequest({ serial: key.certificate.serial, reason }, this.deps.now()), signer, {
      signerRef: { kind: 'x509', chain: [key.certificate.certificate] },
    });
  }

  /** POST to the CA through http.ts (no cookies, no redirects, bounded); its error codes pass through when known. */
  private async postToCa(caUrl: string, path: string, body: unknown): Promise<unknown> {
    const reply = await postJson(caUrl, path, body, { maxResponseBytes: CA_MAX_RESPONSE_BYTES, timeoutMs: CA_TIMEOUT_MS, fetchImpl: this.deps.fetch });
    if (reply.kind === 'response') return reply.body;
    if (reply.status === undefined) throw new SemperError('ERR_INTERNAL', `the CA at ${caUrl} cannot be reached (${reply.error.message})`);
    const code = reply.error.code as SemperErrorCode;
    throw new SemperError(KNOWN_CA_CODES.has(code) ? code : 'ERR_INTERNAL', reply.error.message.slice(0, 300));
  }

  // ── hardware tokens ────────────────────────────────────────────────────────

  async listTokens(): Promise<TokenSummary[]> {
    return (await this.deps.tokens.list()).sort((a, b) => a.createdAt - b.createdAt).map(summariseToken);
  }

  async beginTokenRegistration(): Promise<TokenRegistrationOptions> {
    const now = this.deps.now();
    const challenge = this.deps.randomId(32);
    const pending = (await this.deps.challenges.get()).filter((c) => c.expiresAt > now).slice(-4);
    await this.deps.challenges.set([...pending, { challenge, expiresAt: now + CHALLENGE_TTL_MS }]);
    const settings = await this.deps.settings.get();
    let userHandle = settings.userHandle;
    if (!userHandle) {
      userHandle = this.deps.randomId(16);
      await this.deps.settings.put({ ...settings, userHandle });
    }
    const rpId = await this.ceremonyRpId();
    return {
      challenge,
      rp: { name: 'Semper', ...(rpId ? { id: rpId } : {}) },
      user: { id: userHandle, name: 'semper-shopper', displayName: 'Semper shopper' },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
      timeout: 120_000,
      attestation: 'none',
      excludeCredentials: (await this.deps.tokens.list()).map((t) => ({ id: t.credentialId, type: 'public-key' as const })),
      authenticatorSelection: { residentKey: 'discouraged', userVerification: 'preferred' },
    };
  }

  async finishTokenRegistration(label: string, challenge: string, response: RegistrationResponseJSON): Promise<TokenSummary> {
    const now = this.deps.now();
    const pending = await this.deps.challenges.get();
    const match = pending.find((c) => c.challenge === challenge && c.expiresAt > now);
    // Single use: gone whatever the outcome.
    await this.deps.challenges.set(pending.filter((c) => c.challenge !== challenge && c.expiresAt > now));
    if (!match) throw new SemperError('ERR_WEBAUTHN', 'the registration took too long or was already used: start again');
    // The RP ID now, not at begin: a settings change in between makes the ceremony fail here, never a token stored under the wrong one.
    const rpId = (await this.ceremonyRpId()) ?? this.deps.extensionOrigin;
    const verified = await verifyRegistration({
      response,
      expectedChallenge: challenge,
      expectedOrigin: this.deps.firefox ? await this.deps.firefox.webauthnOrigin : this.deps.extensionOrigin,
      expectedRpId: rpId,
      // Presence-only tokens may be registered; orders that need UV check the UV flag of each assertion.
      requireUserVerification: false,
    });
    if (await this.deps.tokens.get(verified.credentialId)) throw new SemperError('ERR_PROTOCOL_STATE', 'this security key is already registered');
    const token: StoredToken = {
      credentialId: verified.credentialId,
      jwk: verified.jwk,
      rpId,
      label: label.trim().slice(0, 64) || 'Security key',
      userVerifiedAtRegistration: verified.userVerified,
      createdAt: now,
      aaguid: verified.aaguid,
      attestationFormat: verified.attestationFormat,
    };
    await this.deps.tokens.put(token);
    return summariseToken(token);
  }

  async removeToken(credentialId: string): Promise<boolean> {
    return this.deps.tokens.delete(credentialId);
  }

  /** The order for a deal awaiting confirmation, to be signed by a registered token, and its challenge. */
  async tokenSigningRequest(state: ShopperState, credentialId: string | undefined, now: number): Promise<TokenSigningRequest> {
    if (state.phase !== 'awaiting-confirmation')
      throw new SemperError('ERR_PROTOCOL_STATE', `deal ${state.dealId} is ${state.phase}, not awaiting confirmation`);
    const tokens = (await this.deps.tokens.list()).sort((a, b) => a.createdAt - b.createdAt);
    const token = credentialId ? tokens.find((t) => t.credentialId === credentialId) : tokens.at(-1);
    if (!token) throw new SemperError('ERR_NOT_FOUND', credentialId ? 'this security key is not registered' : 'no security key is registered');
    const signer: WebAuthnSignerRef = { kind: 'webauthn', jwk: token.jwk, credentialId: token.credentialId, rpId: token.rpId };
    const order = orderToSign(state, now, { alg: 'webauthn-ES256' as const, signer });
    const { statement, ...ceremony } = await this.tokenCeremony(order, state.view.signature.userVerification ? 'required' : 'preferred');
    return { order: statement, ...ceremony };
  }

  /**
   * The ceremony for another statement the shopper signs with a registered token (a complaint about
   * a token-signed deal): the statement gets that token's webauthn header; ERR_WEBAUTHN when the
   * credential is not registered here (any more) or is registered with another key or RP ID.
   */
  async tokenStatementRequest<S extends UnsignedStatement<unknown>>(
    unsigned: S,
    signer: WebAuthnSignerRef,
  ): Promise<Omit<TokenSigningRequest, 'order'> & { statement: S & { signature: { alg: 'webauthn-ES256'; signer: WebAuthnSignerRef } } }> {
    const token = await this.deps.tokens.get(signer.credentialId);
    if (!token) throw new SemperError('ERR_WEBAUTHN', 'the security key that signed this deal is not registered in this browser any more');
    if ((await jwkThumbprint(token.jwk)) !== (await jwkThumbprint(signer.jwk)) || token.rpId !== signer.rpId) {
      throw new SemperError('ERR_WEBAUTHN', 'the security key registered under that credential id has another key or RP ID than the one that signed this deal');
    }
    const header = {
      alg: 'webauthn-ES256' as const,
      signer: { kind: 'webauthn' as const, jwk: token.jwk, credentialId: token.credentialId, rpId: token.rpId },
    };
    return this.tokenCeremony({ ...unsigned, signature: header }, 'preferred');
  }

  private async tokenCeremony<S extends WebAuthnStatementToSign>(statement: S, userVerification: 'required' | 'preferred') {
    const { signer } = statement.signature;
    return {
      statement,
      challenge: await challengeForStatement(statement),
      userVerification,
      credentialId: signer.credentialId,
      jwk: signer.jwk,
      rpId: signer.rpId,
      ...(this.deps.firefox ? { ceremonyRpId: signer.rpId } : {}),
    };
  }

  /** Firefox: the web-domain RP ID of a new registration (ERR_WEBAUTHN when none is set or derivable); Chromium: undefined. */
  private async ceremonyRpId(): Promise<string | undefined> {
    if (!this.deps.firefox) return undefined;
    const rpId = tokenRpIdOf(await this.deps.settings.get());
    if (!rpId) {
      throw new SemperError(
        'ERR_WEBAUTHN',
        "Firefox needs a web domain as the security key's RP ID: the CA's address is an IP address, so set one (settings.set tokenRpId)",
      );
    }
    return rpId;
  }

  /** A token-signed order may only name a token registered here (the machine verifies the rest). Returns its credential id. */
  async checkTokenSigner(order: Statement<unknown>): Promise<string> {
    const { alg, signer } = order.signature;
    if (alg !== 'webauthn-ES256' || signer.kind !== 'webauthn')
      throw new SemperError('ERR_SCHEMA', 'expected an order signed with a security key (webauthn-ES256)');
    const token = await this.deps.tokens.get(signer.credentialId);
    if (!token) throw new SemperError('ERR_WEBAUTHN', 'the order is signed by a security key that is not registered here');
    const named = await jwkThumbprint(signer.jwk).catch(() => '');
    if (named !== (await jwkThumbprint(token.jwk)) || token.rpId !== signer.rpId) {
      throw new SemperError('ERR_WEBAUTHN', 'the order names a registered credential id with another key or RP ID');
    }
    return signer.credentialId;
  }

  async tokenUsed(credentialId: string): Promise<void> {
    const token = await this.deps.tokens.get(credentialId);
    if (token) await this.deps.tokens.put({ ...token, lastUsedAt: this.deps.now() });
  }
}

/** The body of `POST <ca>/ca/revoke` (server/ca/app.ts takes `{ request: statement }`). */
export function revocationBody(statement: Statement<unknown>): unknown {
  return { request: statement };
}

/** base64url of fresh random bytes (worker default for IdentityServiceDeps.randomId). */
export function randomBase64url(bytes: number): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(bytes)));
}
