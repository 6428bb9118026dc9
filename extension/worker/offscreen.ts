/**
 * The worker's side of extension/offscreen (issue 13): runs a task whose code is not in the
 * worker's start bundle. In Chromium (no import() in a service worker) through the offscreen
 * document, opened for the task and closed when no task is left; in Firefox's event page through
 * import(). Either way the task runs in one of this extension's own pages, the worker's trust, and
 * its answer is checked against the task's schema before the worker uses it.
 */
import type { WebAuthnLibrary } from '../../core/crypto/webauthn.js';
import { decodeBase64url, encodeBase64url } from '../../core/encoding/base64url.js';
import { SemperError } from '../../core/errors.js';
import { OFFSCREEN_TARGET, TASKS, TaskResponse, type TaskArgs, type TaskName, type TaskResult } from '../offscreen/protocol.js';

/** The offscreen document as the worker uses it (chromeOffscreenDocument below; fakes in tests). */
export interface OffscreenDocument {
  /** Opens the document unless it is open (a previous worker life may have left it open). */
  ensure(): Promise<void>;
  close(): Promise<void>;
  send(message: unknown): Promise<unknown>;
}

export interface OffscreenTasksDeps {
  /** Chromium's offscreen document; absent where import() works (Firefox). */
  document?: OffscreenDocument;
  /** The tasks module itself, for where there is no offscreen document. */
  importTasks(): Promise<{ runTask(task: TaskName, args: unknown): Promise<unknown> }>;
}

export class OffscreenTasks {
  private inFlight = 0;
  /** Opening and closing the document, one after the other: Chromium refuses a second createDocument. */
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(private readonly deps: OffscreenTasksDeps) {}

  async run<T extends TaskName>(task: T, args: TaskArgs<T>): Promise<TaskResult<T>> {
    const raw = this.deps.document ? await this.viaDocument(this.deps.document, task, args) : await (await this.deps.importTasks()).runTask(task, args);
    const result = TASKS[task].result.safeParse(raw);
    if (!result.success) throw new SemperError('ERR_INTERNAL', `the ${task} task answered outside its schema`);
    return result.data as TaskResult<T>;
  }

  private async viaDocument(document: OffscreenDocument, task: TaskName, args: unknown): Promise<unknown> {
    this.inFlight++;
    try {
      const opened = this.lifecycle.then(() => document.ensure());
      this.lifecycle = opened.catch(() => undefined);
      await opened;
      const response = TaskResponse.safeParse(await document.send({ target: OFFSCREEN_TARGET, task, args }));
      if (!response.success) throw new SemperError('ERR_INTERNAL', `the offscreen document did not answer the ${task} task`);
      if (!response.data.ok) throw new SemperError('ERR_INTERNAL', `the ${task} task failed: ${response.data.error.code}: ${response.data.error.message}`);
      return response.data.result;
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) {
        // Closed once no task is left: the document holds the heavy code in memory, and tasks are rare.
        this.lifecycle = this.lifecycle.then(async () => {
          if (this.inFlight === 0) await document.close().catch(() => undefined);
        });
      }
    }
  }
}

/**
 * @simplewebauthn/server as offscreen tasks (core/crypto/webauthn.ts useWebAuthnLibrary): token
 * registration and the unusual assertions the fast path hands over. A library error is thrown again
 * with its message, which is how core/crypto/webauthn.ts names the check that failed.
 */
export function offscreenWebAuthnLibrary(tasks: Pick<OffscreenTasks, 'run'>): WebAuthnLibrary {
  const list = (v: string | string[]) => (typeof v === 'string' ? [v] : v);
  return {
    async verifyAuthenticationResponse(opts) {
      if (typeof opts.expectedChallenge !== 'string') throw new SemperError('ERR_INTERNAL', 'an offscreen WebAuthn check takes the challenge itself');
      const answer = await tasks.run('webauthn.authenticate', {
        response: {
          id: opts.response.id,
          rawId: opts.response.rawId,
          type: opts.response.type,
          clientExtensionResults: {},
          response: {
            clientDataJSON: opts.response.response.clientDataJSON,
            authenticatorData: opts.response.response.authenticatorData,
            signature: opts.response.response.signature,
            ...(opts.response.response.userHandle !== undefined ? { userHandle: opts.response.response.userHandle } : {}),
          },
        },
        expectedType: typeof opts.expectedType === 'string' ? opts.expectedType : 'webauthn.get',
        expectedChallenge: opts.expectedChallenge,
        expectedOrigin: list(opts.expectedOrigin),
        expectedRPID: list(opts.expectedRPID),
        credential: { id: opts.credential.id, publicKey: encodeBase64url(opts.credential.publicKey), counter: opts.credential.counter },
        requireUserVerification: opts.requireUserVerification ?? true,
      });
      if ('threw' in answer) throw new Error(answer.threw);
      return answer;
    },
    async verifyRegistrationResponse(opts) {
      if (typeof opts.expectedChallenge !== 'string') throw new SemperError('ERR_INTERNAL', 'an offscreen WebAuthn check takes the challenge itself');
      if (opts.expectedRPID === undefined) throw new SemperError('ERR_INTERNAL', 'an offscreen WebAuthn registration needs its RP ID');
      const answer = await tasks.run('webauthn.register', {
        response: { ...opts.response },
        expectedType: typeof opts.expectedType === 'string' ? opts.expectedType : 'webauthn.create',
        expectedChallenge: opts.expectedChallenge,
        expectedOrigin: opts.expectedOrigin,
        expectedRPID: opts.expectedRPID,
        requireUserPresence: opts.requireUserPresence ?? true,
        requireUserVerification: opts.requireUserVerification ?? true,
      });
      if ('threw' in answer) throw new Error(answer.threw);
      const info = answer.registrationInfo;
      return {
        verified: answer.verified,
        ...(info ? { registrationInfo: { ...info, credential: { id: info.credential.id, publicKey: decodeBase64url(info.credential.publicKey) } } } : {}),
      };
    },
  };
}

export const OFFSCREEN_DOCUMENT_PATH = 'extension/offscreen/index.html';

/** chrome.offscreen, where the browser has it (Chromium 109+, with the manifest's "offscreen" permission). */
export function chromeOffscreenDocument(): OffscreenDocument | undefined {
  const api = (globalThis as { chrome?: typeof chrome }).chrome;
  if (!api?.offscreen?.createDocument || !api.runtime?.getContexts) return undefined;
  const { offscreen, runtime } = api;
  return {
    async ensure() {
      const open = await runtime.getContexts({
        contextTypes: ['OFFSCREEN_DOCUMENT' as chrome.runtime.ContextType],
        documentUrls: [runtime.getURL(OFFSCREEN_DOCUMENT_PATH)],
      });
      if (open.length > 0) return;
      await offscreen.createDocument({
        url: OFFSCREEN_DOCUMENT_PATH,
        // The closest reason Chromium offers: the document runs work the service worker cannot load (no import() there).
        reasons: ['WORKERS' as chrome.offscreen.Reason],
        justification:
          'Runs rarely used code (time-stamp checks, security-key registration, e-cash blinding) outside the service worker, which cannot load code on demand.',
      });
    },
    close: () => offscreen.closeDocument(),
    send: (message) => runtime.sendMessage(message),
  };
}
