/**
 * The tasks themselves (protocol.ts): imported by the offscreen document (Chromium) and, through
 * import(), by the Firefox event page — never statically by the worker, which is the point: this
 * module's imports (pkijs, the second asn1js, @simplewebauthn/server, @cloudflare/blindrsa-ts) stay
 * out of the worker's start bundle.
 */
import { verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { decodeBase64url, encodeBase64url } from '../../core/encoding/base64url.js';
import { isSemperError } from '../../core/errors.js';
import { blindCoin, unblindSignature } from '../../core/payment/cash/blind.js';
import { importDenominationKey } from '../../core/payment/cash/denominations.js';
import { checkTimestamp } from '../settings/tsa-check.js';
import { TASKS, type TaskName, type TaskResult } from './protocol.js';

const RUN: { [T in TaskName]: (args: unknown) => Promise<TaskResult<T>> } = {
  async 'timestamp.check'(raw) {
    const args = TASKS['timestamp.check'].args.parse(raw);
    const check = await checkTimestamp(args.token, decodeBase64url(args.digest), { roots: args.roots, tsas: args.tsas });
    // The reason is a library's message: bounded so the answer always fits the protocol.
    return check.status === 'invalid' ? { status: 'invalid', reason: check.reason.slice(0, 4096) } : check;
  },
  async 'webauthn.authenticate'(raw) {
    const args = TASKS['webauthn.authenticate'].args.parse(raw);
    try {
      const result = await verifyAuthenticationResponse({ ...args, credential: { ...args.credential, publicKey: decodeBase64url(args.credential.publicKey) } });
      return { verified: result.verified, authenticationInfo: { userVerified: result.authenticationInfo.userVerified } };
    } catch (e) {
      return { threw: libraryMessage(e) };
    }
  },
  async 'webauthn.register'(raw) {
    const args = TASKS['webauthn.register'].args.parse(raw);
    try {
      // The library validates the response's shape itself (it is what startRegistration resolved with).
      const result = await verifyRegistrationResponse({ ...args, response: args.response as unknown as RegistrationResponseJSON });
      const info = result.registrationInfo;
      return {
        verified: result.verified,
        ...(info
          ? {
              registrationInfo: {
                fmt: info.fmt,
                aaguid: info.aaguid,
                userVerified: info.userVerified,
                credential: { id: info.credential.id, publicKey: encodeBase64url(info.credential.publicKey) },
              },
            }
          : {}),
      };
    } catch (e) {
      return { threw: libraryMessage(e) };
    }
  },
  async 'cash.blind'(raw) {
    const args = TASKS['cash.blind'].args.parse(raw);
    const blindings = [];
    for (const c of args.coins) blindings.push(await blindCoin(await importDenominationKey(c.rsaPublicKey), c.denominationId, c.coinId));
    return { blindings };
  },
  async 'cash.unblind'(raw) {
    const args = TASKS['cash.unblind'].args.parse(raw);
    const signatures: string[] = [];
    for (const c of args.coins) {
      try {
        signatures.push(await unblindSignature(await importDenominationKey(c.rsaPublicKey), c, c.blindSignature));
      } catch (e) {
        if (isSemperError(e) && e.code === 'ERR_SIGNATURE_INVALID') return { refused: e.message.slice(0, 4096) };
        throw e;
      }
    }
    return { signatures };
  },
};

/** The library's error message (core/crypto/webauthn.ts names the check from it), bounded for the protocol. */
function libraryMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 4096);
}

export async function runTask<T extends TaskName>(task: T, args: unknown): Promise<TaskResult<T>> {
  return RUN[task](args) as Promise<TaskResult<T>>;
}
