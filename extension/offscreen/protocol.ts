/**
 * The worker's rarely used heavy code, run outside its start bundle (issue 13). Chromium refuses
 * import() in an extension service worker, so everything the worker imports statically is parsed on
 * every start; what a first message never needs is a *task* here instead, run by the offscreen
 * document (extension/offscreen/main.ts, Chromium) or imported on first use (Firefox's event page,
 * where import() works). Both are this extension's own pages: the same trust as the worker, which
 * still decides what the result means.
 *
 * Messages cross runtime messaging as JSON, so bytes travel as base64url; both sides validate.
 */
import { z } from '../../core/zod.js';

export const OFFSCREEN_TARGET = 'semper-offscreen';

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]*$/), z.maxLength(200_000));
const Fingerprint = z.string().check(z.minLength(1), z.maxLength(128));
/** SHA-256 ids (a denomination's, a coin key's thumbprint): 43 base64url characters. */
const Digest = b64u.check(z.length(43));
/** A denomination's RSA key (SPKI; RSA-2048, core/payment/cash/denominations.ts) and the 256-byte numbers under it. */
const RsaKey = b64u.check(z.minLength(64), z.maxLength(800));
const RsaValue = b64u.check(z.length(342));

/**
 * A task's schemas, built on first use: the worker evaluates this module on every start, and its
 * first message never runs a task (≈ 230 zod/mini instances the start no longer builds; issue 13).
 */
function lazyTask<A, R>(make: () => { args: A; result: R }): { readonly args: A; readonly result: R } {
  let built: { args: A; result: R } | undefined;
  return {
    get args() {
      built ??= make();
      return built.args;
    },
    get result() {
      built ??= make();
      return built.result;
    },
  };
}

/** Each task: its arguments and its result. */
export const TASKS = {
  /** A time stamp over a digest under the user's roots and trusted TSAs (extension/settings/tsa-check.ts). */
  'timestamp.check': lazyTask(() => ({
    args: z.strictObject({
      token: z.string().check(z.maxLength(200_000)),
      digest: b64u,
      roots: z.array(z.string().check(z.maxLength(200_000))).check(z.maxLength(256)),
      tsas: z.array(z.strictObject({ fingerprint: Fingerprint })).check(z.maxLength(256)),
    }),
    result: z.discriminatedUnion('status', [
      z.strictObject({
        status: z.enum(['trusted', 'untrusted-tsa']),
        genTime: z.string().check(z.maxLength(64)),
        tsa: z.string().check(z.maxLength(1024)),
        fingerprint: Fingerprint,
      }),
      z.strictObject({ status: z.literal('invalid'), reason: z.string().check(z.maxLength(4096)) }),
    ]),
  })),
  /**
   * @simplewebauthn/server's verifyAuthenticationResponse: the assertions core/crypto/webauthn.ts's
   * fast path hands over (unusual ones). Library errors come back as `threw` (their message names
   * the check, core/crypto/webauthn.ts fromLibraryError), not as a failed task.
   */
  'webauthn.authenticate': lazyTask(() => ({
    args: z.strictObject({
      response: z.strictObject({
        id: z.string().check(z.maxLength(2048)),
        rawId: z.string().check(z.maxLength(2048)),
        type: z.literal('public-key'),
        clientExtensionResults: z.strictObject({}),
        response: z.strictObject({ clientDataJSON: b64u, authenticatorData: b64u, signature: b64u, userHandle: z.optional(b64u) }),
      }),
      expectedType: z.string().check(z.maxLength(64)),
      expectedChallenge: z.string().check(z.maxLength(1024)),
      expectedOrigin: z.array(z.string().check(z.maxLength(1024))).check(z.maxLength(64)),
      expectedRPID: z.array(z.string().check(z.maxLength(1024))).check(z.maxLength(64)),
      credential: z.strictObject({ id: z.string().check(z.maxLength(2048)), publicKey: b64u, counter: z.number().check(z.int(), z.gte(0)) }),
      requireUserVerification: z.boolean(),
    }),
    result: z.union([
      z.strictObject({ threw: z.string().check(z.maxLength(4096)) }),
      z.strictObject({ verified: z.boolean(), authenticationInfo: z.strictObject({ userVerified: z.boolean() }) }),
    ]),
  })),
  /** @simplewebauthn/server's verifyRegistrationResponse (token registration); errors as for authenticate. */
  'webauthn.register': lazyTask(() => ({
    args: z.strictObject({
      // What startRegistration resolved with, as the operation table admitted it (RegistrationResponse); the library checks it.
      response: z.record(z.string(), z.unknown()),
      expectedType: z.string().check(z.maxLength(64)),
      expectedChallenge: z.string().check(z.maxLength(1024)),
      expectedOrigin: z.union([z.string().check(z.maxLength(1024)), z.array(z.string().check(z.maxLength(1024))).check(z.maxLength(64))]),
      expectedRPID: z.union([z.string().check(z.maxLength(1024)), z.array(z.string().check(z.maxLength(1024))).check(z.maxLength(64))]),
      requireUserPresence: z.boolean(),
      requireUserVerification: z.boolean(),
    }),
    result: z.union([
      z.strictObject({ threw: z.string().check(z.maxLength(4096)) }),
      z.strictObject({
        verified: z.boolean(),
        registrationInfo: z.optional(
          z.strictObject({
            fmt: z.string().check(z.maxLength(64)),
            aaguid: z.string().check(z.maxLength(64)),
            userVerified: z.boolean(),
            credential: z.strictObject({ id: z.string().check(z.maxLength(2048)), publicKey: b64u }),
          }),
        ),
      }),
    ]),
  })),
  /**
   * Blind coin messages for the bank (core/payment/cash/blind.ts blindCoin: RFC 9474 prepare and
   * blind, with the platform's CSPRNG). The coin keys stay in the worker: only their ids come here.
   */
  'cash.blind': lazyTask(() => ({
    args: z.strictObject({
      coins: z.array(z.strictObject({ denominationId: Digest, rsaPublicKey: RsaKey, coinId: Digest })).check(z.minLength(1), z.maxLength(64)),
    }),
    result: z.strictObject({
      blindings: z.array(z.strictObject({ prefix: b64u.check(z.length(43)), inv: RsaValue, blindedMsg: RsaValue })).check(z.minLength(1), z.maxLength(64)),
    }),
  })),
  /**
   * Unblind the bank's blind signatures (blind.ts unblindSignature, RFC 9474 §4.4). A signature that
   * does not finalize comes back as `refused` (ERR_SIGNATURE_INVALID), not as a failed task; the
   * worker's wallet machine checks every coin against its denomination key before keeping it.
   */
  'cash.unblind': lazyTask(() => ({
    args: z.strictObject({
      coins: z
        .array(
          z.strictObject({
            denominationId: Digest,
            rsaPublicKey: RsaKey,
            coinId: Digest,
            prefix: b64u.check(z.length(43)),
            inv: RsaValue,
            blindSignature: RsaValue,
          }),
        )
        .check(z.minLength(1), z.maxLength(64)),
    }),
    result: z.union([
      z.strictObject({ signatures: z.array(RsaValue).check(z.minLength(1), z.maxLength(64)) }),
      z.strictObject({ refused: z.string().check(z.maxLength(4096)) }),
    ]),
  })),
} as const;

export type TaskName = keyof typeof TASKS;
export type TaskArgs<T extends TaskName> = z.infer<(typeof TASKS)[T]['args']>;
export type TaskResult<T extends TaskName> = z.infer<(typeof TASKS)[T]['result']>;

const taskNames = Object.keys(TASKS) as [TaskName, ...TaskName[]];

/** What the worker sends to the offscreen document. */
export const TaskRequest = z.strictObject({ target: z.literal(OFFSCREEN_TARGET), task: z.enum(taskNames), args: z.unknown() });
export type TaskRequest = z.infer<typeof TaskRequest>;

/** What the offscreen document answers: the task's result, or why it could not run it. */
export const TaskResponse = z.union([
  z.strictObject({ ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: z.strictObject({ code: z.string().check(z.maxLength(64)), message: z.string().check(z.maxLength(4096)) }) }),
]);
export type TaskResponse = z.infer<typeof TaskResponse>;

/**
 * Is this message from the extension's own service worker? The offscreen document answers nothing
 * else: extension pages and content scripts broadcast runtime messages that reach it too.
 * `workerUrl`: runtime.getURL of the manifest's background.service_worker.
 */
export function fromWorker(
  sender: { id?: string | undefined; url?: string | undefined; tab?: unknown },
  extensionId: string,
  workerUrl: string | undefined,
): boolean {
  return workerUrl !== undefined && sender.id === extensionId && sender.tab === undefined && sender.url === workerUrl;
}
