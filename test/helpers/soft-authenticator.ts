/**
 * A software WebAuthn authenticator (plus the client part of the browser) for tests and benches.
 * It produces byte-for-byte what a CTAP2 token and Chromium produce for an ES256 credential:
 *   authenticatorData = rpIdHash(32) ‖ flags(1) ‖ signCount(4, big-endian) [‖ attestedCredentialData]
 *   clientDataJSON    = {"type":…,"challenge":…,"origin":…,"crossOrigin":false}
 *   signature         = DER ECDSA-Sig-Value over authenticatorData ‖ SHA-256(clientDataJSON)
 * Every field can be overridden so tests can break exactly one thing.
 */
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { exportPublicJwk, generateKeyPair, type PublicJwk } from '../../core/crypto/index.js';
import { jwkToCose } from '../../core/crypto/cose.js';
import { challengeForStatement, signatureBlockFromAssertion, type WebAuthnSignerRef } from '../../core/crypto/webauthn.js';
import { decodeBase64url, encodeBase64url, sha256, utf8 } from '../../core/encoding/index.js';
import type { Statement, UnsignedStatement } from '../../core/statements/index.js';

type Cbor = Parameters<typeof isoCBOR.encode>[0];

export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;
export const FLAG_AT = 0x40;

/** IEEE P1363 r‖s (what WebCrypto returns) → DER ECDSA-Sig-Value (what authenticators return). */
export function p1363ToDer(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  if (raw.length % 2 !== 0 || raw.length === 0) throw new Error('P1363 signature has odd length');
  const half = raw.length / 2;
  const integer = (bytes: Uint8Array): number[] => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++; // minimal: strip leading zeros
    const body = Array.from(bytes.subarray(i));
    if (body[0]! & 0x80) body.unshift(0); // positive: prefix 0x00 when the high bit is set
    return [0x02, body.length, ...body];
  };
  const content = [...integer(raw.subarray(0, half)), ...integer(raw.subarray(half))];
  if (content.length >= 0x80) throw new Error('long-form DER lengths are not needed for P-256');
  return new Uint8Array([0x30, content.length, ...content]);
}

export interface AssertionOverrides {
  /** clientDataJSON.type (default 'webauthn.get'). */
  type?: string;
  /** clientDataJSON.origin (default the authenticator's origin). */
  origin?: string;
  /** The RP ID hashed into authenticatorData (default the authenticator's rpId). */
  rpId?: string;
  /** Flags byte (default UP, plus UV if the authenticator verifies users). */
  flags?: number;
  crossOrigin?: boolean;
  /** Sign with this private key instead of the credential's. */
  signWith?: CryptoKey;
}

export interface SoftAuthenticatorOptions {
  rpId: string;
  origin: string;
  /** Whether the token verifies the user (PIN/biometric): sets UV. Default true. */
  userVerification?: boolean;
  aaguid?: Uint8Array;
}

export class SoftAuthenticator {
  private counter = 0;

  private constructor(
    readonly rpId: string,
    readonly origin: string,
    readonly userVerification: boolean,
    readonly aaguid: Uint8Array,
    readonly credentialId: string,
    readonly jwk: PublicJwk,
    private readonly privateKey: CryptoKey,
  ) {}

  static async create(options: SoftAuthenticatorOptions): Promise<SoftAuthenticator> {
    const pair = await generateKeyPair('ES256');
    const credentialId = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
    return new SoftAuthenticator(
      options.rpId,
      options.origin,
      options.userVerification ?? true,
      options.aaguid ?? new Uint8Array(16),
      credentialId,
      await exportPublicJwk(pair.publicKey),
      pair.privateKey,
    );
  }

  /** The signer block statements signed by this credential carry. */
  get signerRef(): WebAuthnSignerRef {
    return { kind: 'webauthn', jwk: this.jwk, credentialId: this.credentialId, rpId: this.rpId };
  }

  private defaultFlags(): number {
    return FLAG_UP | (this.userVerification ? FLAG_UV : 0);
  }

  private async authenticatorData(rpId: string, flags: number, attested?: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    this.counter++;
    const head = new Uint8Array(37);
    head.set(await sha256(utf8(rpId)), 0);
    head[32] = flags;
    new DataView(head.buffer).setUint32(33, this.counter, false);
    if (!attested) return head;
    const out = new Uint8Array(head.length + attested.length);
    out.set(head, 0);
    out.set(attested, head.length);
    return out;
  }

  private clientDataJSON(type: string, challenge: string, origin: string, crossOrigin: boolean): Uint8Array<ArrayBuffer> {
    // Member order as Chromium writes it (WebAuthn L3 §5.8.1.1).
    return utf8(JSON.stringify({ type, challenge, origin, crossOrigin }));
  }

  private async signOver(authData: Uint8Array<ArrayBuffer>, clientData: Uint8Array<ArrayBuffer>, key: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
    const clientDataHash = await sha256(clientData);
    const signed = new Uint8Array(authData.length + clientDataHash.length);
    signed.set(authData, 0);
    signed.set(clientDataHash, authData.length);
    const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, signed));
    return p1363ToDer(raw);
  }

  /** navigator.credentials.get() as @simplewebauthn/browser's startAuthentication returns it. */
  async getAssertion(challenge: string, o: AssertionOverrides = {}): Promise<AuthenticationResponseJSON> {
    const authData = await this.authenticatorData(o.rpId ?? this.rpId, o.flags ?? this.defaultFlags());
    const clientData = this.clientDataJSON(o.type ?? 'webauthn.get', challenge, o.origin ?? this.origin, o.crossOrigin ?? false);
    const signature = await this.signOver(authData, clientData, o.signWith ?? this.privateKey);
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      authenticatorAttachment: 'cross-platform',
      clientExtensionResults: {},
      response: { clientDataJSON: encodeBase64url(clientData), authenticatorData: encodeBase64url(authData), signature: encodeBase64url(signature) },
    };
  }

  /**
   * navigator.credentials.create() with attestation 'none' (WebAuthn L3 §8.7), as
   * startRegistration returns it. The attestation object is the CTAP2 canonical CBOR map
   * {"fmt": "none", "attStmt": {}, "authData": …}.
   */
  async makeCredential(challenge: string, o: Omit<AssertionOverrides, 'signWith'> = {}): Promise<RegistrationResponseJSON> {
    const idBytes = decodeBase64url(this.credentialId);
    const cose = jwkToCose(this.jwk);
    const attested = new Uint8Array(16 + 2 + idBytes.length + cose.length);
    attested.set(this.aaguid, 0);
    new DataView(attested.buffer).setUint16(16, idBytes.length, false);
    attested.set(idBytes, 18);
    attested.set(cose, 18 + idBytes.length);
    const authData = await this.authenticatorData(o.rpId ?? this.rpId, (o.flags ?? this.defaultFlags()) | FLAG_AT, attested);
    const clientData = this.clientDataJSON(o.type ?? 'webauthn.create', challenge, o.origin ?? this.origin, o.crossOrigin ?? false);
    const attestationObject = isoCBOR.encode(
      new Map<string, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, Cbor>()],
        ['authData', authData],
      ]),
    );
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      authenticatorAttachment: 'cross-platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: encodeBase64url(clientData),
        attestationObject: encodeBase64url(attestationObject),
        authenticatorData: encodeBase64url(authData),
        transports: ['usb'],
        publicKeyAlgorithm: -7,
      },
    };
  }

  /** Sign a statement as the trusted window does: challenge → startAuthentication → signature block. */
  async signStatement<B>(unsigned: UnsignedStatement<B>, o: AssertionOverrides = {}): Promise<Statement<B>> {
    const header = { alg: 'webauthn-ES256' as const, signer: this.signerRef };
    const challenge = await challengeForStatement({ ...unsigned, signature: header });
    const response = await this.getAssertion(challenge, o);
    const signature = signatureBlockFromAssertion({ response, jwk: this.jwk, credentialId: this.credentialId, rpId: this.rpId });
    return { ...unsigned, signature } as Statement<B>;
  }
}
