// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the checks are quoted source text, template literals included
// Security checks of the extension's boundaries, the ones the worker and the content scripts run
// themselves: who may call the operation API (Semper's pages only; the trusted window; only the
// window showing the deal for a deal's decision), which pages may talk to the worker and from
// which origin (the browser-reported sender, https or loopback http, top-level frames for deals,
// re-attaching only to a deal of the same origin), what the content script forwards (only the
// page's own messages, bounded), the other parties' addresses the user names, the worker's HTTP
// client (no cookies, no redirects, its origin only, bounded answers), and the trusted window's
// queue (brought forward only for a new deal, its Confirm disarmed first). Each with the unit
// tests that must fail without it.
// Run: npx tsx scripts/mutation.ts --manifest extension [--only W-port-] [--jobs 2].
//
// Not listed, because no input reaches it: pageOriginOf's refusal of the opaque origin "null"
// (a sandboxed frame, a data: URL) — "null" is no URL, so the parse right after it refuses it too.
//
// Only unit tests are listed: the e2e suite (test/e2e, test/attacks) drives the built extension,
// which the mutation runner does not rebuild, so it could not see a removed check.
import type { SecurityCheck } from './types.js';

const sender = 'extension/worker/sender.ts';
const dispatcher = 'extension/operations/dispatcher.ts';
const ports = 'extension/content/page-ports.ts';
const bridge = 'extension/content/content-bridge.ts';
const http = 'extension/worker/http.ts';
const windows = 'extension/worker/trusted-window-manager.ts';
const presentation = 'extension/worker/window-presentation.ts';
const identity = 'extension/identity/service.ts';
const keyStore = 'extension/identity/key-store.ts';
const host = 'extension/worker/host.ts';

const SENDER_TESTS = ['test/extension/content/bridge.test.ts', 'test/extension/content/page-ports.test.ts', 'test/extension/operations/dispatch.test.ts'];
const OPERATIONS = ['test/extension/operations/dispatch.test.ts', 'test/extension/operations/start-table.test.ts'];
const PORTS = ['test/extension/content/page-ports.test.ts'];
const BRIDGE = ['test/extension/content/bridge.test.ts'];
const HTTP = ['test/extension/worker/http.test.ts'];
const WINDOWS = ['test/extension/worker/trusted-window-manager.test.ts'];
const PRESENTATION = ['test/extension/worker/window-presentation.test.ts'];
const IDENTITY = ['test/extension/identity/identity.test.ts'];
const HOST = ['test/extension/worker/host.test.ts'];

export const checks: SecurityCheck[] = [
  // ---------------------------------------------------------------- who is asking (worker/sender.ts)
  {
    id: 'W-party-no-credentials',
    check: 'the address of a CA or TTP the user names carries no user name or password',
    file: sender,
    find: 'if (url.username || url.password) throw',
    replace: 'if (false) throw',
    tests: SENDER_TESTS,
  },
  {
    id: 'W-party-https',
    check: 'another party is reached over https, or http only on this computer (loopback)',
    file: sender,
    find: "if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url.origin;",
    replace: 'return url.origin;',
    tests: SENDER_TESTS,
  },
  {
    id: 'W-page-origin-exact',
    check: "the sender's origin is an origin exactly (no path, no credentials, in its serialised form), not a URL that only starts like one",
    file: sender,
    find: 'if (url.origin !== origin) return undefined;',
    replace: '',
    tests: SENDER_TESTS,
  },
  {
    id: 'W-page-origin-loopback',
    check: 'a page over plain http deals only on this computer (loopback): anywhere else its origin could be anyone on the network',
    file: sender,
    find: "if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return origin;",
    replace: "if (url.protocol === 'http:') return origin;",
    tests: SENDER_TESTS,
  },
  {
    id: 'W-extension-page-id',
    check: "an extension page is this extension's (another extension's page is not Semper's)",
    file: sender,
    find: "return sender.id === extensionId && typeof sender.url === 'string' && sender.url.startsWith(extensionBase);",
    replace: "return typeof sender.url === 'string' && sender.url.startsWith(extensionBase);",
    tests: SENDER_TESTS,
  },
  {
    id: 'W-extension-page-url',
    check: "an extension page is one of the extension's own pages (a content script of this extension, running in a web page, is not)",
    file: sender,
    find: "return sender.id === extensionId && typeof sender.url === 'string' && sender.url.startsWith(extensionBase);",
    replace: 'return sender.id === extensionId;',
    tests: SENDER_TESTS,
  },
  {
    id: 'W-trusted-window-path',
    check: "the trusted window is the extension's trusted-window page, not any of its pages (the popup, the wallet)",
    file: sender,
    find: "return url.pathname === '/trusted-window/index.html';",
    replace: 'return true;',
    tests: SENDER_TESTS,
  },

  // ---------------------------------------------------------------- the operation API (operations/dispatcher.ts)
  {
    id: 'W-op-extension-pages',
    check: "the operation API answers Semper's own pages only (not content scripts, not other extensions)",
    file: dispatcher,
    find: 'if (!isExtensionPage(sender, deps.extensionId, deps.extensionBase)) return forbidden(',
    replace: 'if (false) return forbidden(',
    tests: OPERATIONS,
  },
  {
    id: 'W-op-trusted-page',
    check: 'an operation for the trusted window is refused to every other page of the extension',
    file: dispatcher,
    find: "if (spec.access === 'trusted-page' && !fromTrustedWindow) return forbidden(",
    replace: 'if (false) return forbidden(',
    tests: OPERATIONS,
  },
  {
    id: 'W-op-deal-window-trusted',
    check: 'a decision on a deal (confirm, decline) comes from the trusted window page, not another extension page in a window that happens to be the deal’s',
    file: dispatcher,
    find: 'const fromItsWindow = fromTrustedWindow && current !== undefined',
    replace: 'const fromItsWindow = current !== undefined',
    tests: OPERATIONS,
  },
  {
    id: 'W-op-deal-window-deal',
    check: 'a decision on a deal comes from the window that shows that deal, not the window of another deal',
    file: dispatcher,
    find: 'current.dealId === named.data.dealId && ',
    replace: '',
    tests: OPERATIONS,
  },
  {
    id: 'W-op-deal-window-id',
    check: 'a decision on a deal comes from the window the worker opened for it (its window id), not another trusted-window page',
    file: dispatcher,
    find: ' && sender.tab?.windowId === current.windowId',
    replace: '',
    tests: OPERATIONS,
  },
  {
    id: 'W-op-request-schema',
    check: "every operation's request is checked against the table's schema before its handler runs",
    file: dispatcher,
    find: 'if (!request.success) return schemaError(op, request.error);',
    replace: '',
    tests: OPERATIONS,
  },
  {
    id: 'W-op-known',
    check: 'only an operation of the table, as `{ op, request }`, is dispatched',
    file: dispatcher,
    find: "if (!message.success) return { ok: false, error: { code: 'ERR_SCHEMA', message: 'expected { op, request } with a known op' } };",
    replace: '',
    tests: OPERATIONS,
  },

  // ---------------------------------------------------------------- pages talking to the worker (content/page-ports.ts)
  {
    id: 'W-port-own-extension',
    check: "only this extension's content scripts connect a page port",
    file: ports,
    find: 'sender.id !== this.deps.extensionId || ',
    replace: '',
    tests: PORTS,
  },
  {
    id: 'W-port-web-origin',
    check: 'a page port needs a web origin the worker may deal for (https or loopback http)',
    file: ports,
    find: '!origin || sender.tab === undefined',
    replace: 'sender.tab === undefined',
    tests: PORTS,
  },
  {
    id: 'W-port-tab',
    check: 'a page port comes from a tab (a page), not from an extension context without one',
    file: ports,
    find: '!origin || sender.tab === undefined',
    replace: '!origin',
    tests: PORTS,
  },
  {
    id: 'W-port-top-level-purchase',
    check: 'only a top-level page requests a purchase (a frame embedded by another site does not)',
    file: ports,
    find: 'if (!topLevel) {',
    replace: 'if (false) {',
    tests: PORTS,
  },
  {
    id: 'W-port-top-level-exchange',
    check: 'only a top-level page requests certified mail or contract signing',
    file: ports,
    find: 'if (!topLevel || !startExchange) {',
    replace: 'if (!startExchange) {',
    tests: PORTS,
  },
  {
    id: 'W-port-top-level-fair',
    check: 'only a top-level page requests a fair purchase',
    file: ports,
    find: 'if (!topLevel || !startFair) {',
    replace: 'if (!startFair) {',
    tests: PORTS,
  },
  {
    id: 'W-port-attach-origin',
    check: "a page re-attaches only to a deal of its own origin (another site cannot learn or wait on this site's deal)",
    file: ports,
    find: 'if (!record || record.origin !== origin) {',
    replace: 'if (!record) {',
    tests: PORTS,
  },
  {
    id: 'W-port-request-params',
    check: "a page request's parameters are checked against the method's schema before a deal starts",
    file: ports,
    find: 'if (!request.ok) {',
    replace: 'if (false) {',
    tests: PORTS,
  },

  // ---------------------------------------------------------------- the content script (content/content-bridge.ts)
  {
    id: 'W-bridge-from-page',
    check: "the content script forwards only the page's own window messages (not another frame's or window's)",
    file: bridge,
    find: 'if (!fromPage || !isPageRequest(data)) return;',
    replace: 'if (!isPageRequest(data)) return;',
    tests: BRIDGE,
  },
  {
    id: 'W-bridge-request-shape',
    check: 'the content script forwards only well-formed page requests (type, channel, id, method)',
    file: bridge,
    find: 'if (!fromPage || !isPageRequest(data)) return;',
    replace: 'if (!fromPage) return;',
    tests: BRIDGE,
  },
  {
    id: 'W-bridge-pending-limit',
    check: 'a page may have at most MAX_PENDING requests waiting (it cannot flood the worker)',
    file: bridge,
    find: 'if (this.pending.size >= MAX_PENDING) {',
    replace: 'if (false) {',
    tests: BRIDGE,
  },
  {
    id: 'W-bridge-response-shape',
    check: 'only a well-formed answer of the worker is passed on to the page',
    file: bridge,
    find: 'if (!isPortResponse(message)) return;',
    replace: '',
    tests: BRIDGE,
  },

  // ---------------------------------------------------------------- the worker's HTTP client (worker/http.ts)
  {
    id: 'W-http-same-origin',
    check: "a request's path cannot leave the party's origin (an absolute URL in the path is refused)",
    file: http,
    find: "if (url.origin !== new URL(base).origin) return { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'path leaves the origin' } };",
    replace: '',
    tests: HTTP,
  },
  {
    id: 'W-http-no-cookies',
    check: "requests to merchants and TTPs carry no cookies or credentials of the user's browsing",
    file: http,
    find: "body: JSON.stringify(body),\n      credentials: 'omit',",
    replace: 'body: JSON.stringify(body),',
    tests: HTTP,
  },
  {
    id: 'W-http-no-redirects',
    check: 'a merchant cannot redirect a request to another origin (redirects are errors)',
    file: http,
    find: "credentials: 'omit',\n      redirect: 'error',\n      cache: 'no-store',\n      referrerPolicy: 'no-referrer',\n      signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),\n    });\n  } catch (e) {",
    replace:
      "credentials: 'omit',\n      cache: 'no-store',\n      referrerPolicy: 'no-referrer',\n      signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),\n    });\n  } catch (e) {",
    tests: HTTP,
  },
  {
    id: 'W-http-declared-size',
    check: 'an answer declaring more bytes than allowed is refused before it is read',
    file: http,
    find: 'if (declared > limit) {',
    replace: 'if (false) {',
    tests: HTTP,
  },
  {
    id: 'W-http-streamed-size',
    check: 'an answer streaming more bytes than allowed is cut off, whatever it declared',
    file: http,
    find: 'if (size > limit) {',
    replace: 'if (false) {',
    tests: HTTP,
  },
  {
    id: 'W-http-ttp-url',
    check: "a machine's request to its TTP goes to the TTP's URL (the user's setting), never to the page's origin",
    file: http,
    find: "const base = outbound.to === 'ttp' ? outbound.url : origin;",
    replace: 'const base = origin;',
    tests: HTTP,
  },
  {
    id: 'W-http-crl-scheme',
    check: 'a CRL is fetched only over http(s) (a file: or data: address in a certificate is refused)',
    file: http,
    find: "if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`not an http(s) URL: ${address}`);",
    replace: '',
    tests: HTTP,
  },

  // ---------------------------------------------------------------- the trusted window (worker/trusted-window-manager.ts, window-presentation.ts)
  {
    id: 'W-window-focus-new-deal-only',
    check: 'the open trusted window is brought forward only when a deal joined the queue (a page cannot make it jump forward under the pointer)',
    file: windows,
    find: 'if (added) await this.deps.windows.focus(current.windowId)',
    replace: 'await this.deps.windows.focus(current.windowId)',
    tests: WINDOWS,
  },
  {
    id: 'W-window-closed-declines',
    check: 'the user closing the window of a deal awaiting confirmation declines that deal',
    file: windows,
    find: 'if (current?.windowId !== windowId) return;\n      await this.deps.session.set(undefined);\n      this.deps.onUserClosed(current.dealId);',
    replace: 'if (current?.windowId !== windowId) return;\n      await this.deps.session.set(undefined);',
    tests: WINDOWS,
  },
  {
    id: 'W-window-close-only-its-own',
    check: 'closing another window does not decline the deal shown in the trusted window',
    file: windows,
    find: 'if (current?.windowId !== windowId) return;',
    replace: 'if (current === undefined) return;',
    tests: WINDOWS,
  },
  {
    id: 'W-present-disarmed-first',
    check: 'a trusted window is brought forward only after it answered that it disarmed Confirm',
    file: presentation,
    find: 'if (!answered) return false;',
    replace: '',
    tests: PRESENTATION,
  },
  {
    id: 'W-present-its-own-answer',
    check: "only the answer to this presentation (its id) counts as the window's acknowledgement",
    file: presentation,
    find: 'if (isPresentedMessage(m) && m.id === id) done(true);',
    replace: 'if (isPresentedMessage(m)) done(true);',
    tests: PRESENTATION,
  },

  // ---------------------------------------------------------------- keys and security keys (identity/)
  {
    id: 'W-key-extractable-new',
    check: 'a new key pair whose private key could be exported is refused (keys stay non-extractable)',
    file: keyStore,
    find: "if (keys.privateKey.extractable) throw new SemperError('ERR_KEY', 'refusing an extractable private key');",
    replace: '',
    tests: IDENTITY,
  },
  {
    id: 'W-key-extractable-use',
    check: 'a stored key found extractable is never used to sign',
    file: keyStore,
    find: 'if (key.pair.privateKey.extractable) return Promise.reject(',
    replace: 'if (false) return Promise.reject(',
    tests: IDENTITY,
  },
  {
    id: 'W-token-challenge-known',
    check: 'a security key is registered only against a challenge the worker issued',
    file: identity,
    find: "if (!match) throw new SemperError('ERR_WEBAUTHN', 'the registration took too long or was already used: start again');",
    replace: '',
    tests: IDENTITY,
  },
  {
    id: 'W-token-challenge-expiry',
    check: 'a registration challenge expires',
    file: identity,
    find: 'const match = pending.find((c) => c.challenge === challenge && c.expiresAt > now);',
    replace: 'const match = pending.find((c) => c.challenge === challenge);',
    tests: IDENTITY,
  },
  {
    id: 'W-token-challenge-once',
    check: 'a registration challenge is used once, whatever the outcome',
    file: identity,
    find: 'await this.deps.challenges.set(pending.filter((c) => c.challenge !== challenge && c.expiresAt > now));',
    replace: 'await this.deps.challenges.set(pending);',
    tests: IDENTITY,
  },
  {
    id: 'W-token-once',
    check: 'a security key already registered is not registered again (its stored key and RP ID are not replaced)',
    file: identity,
    find: "if (await this.deps.tokens.get(verified.credentialId)) throw new SemperError('ERR_PROTOCOL_STATE', 'this security key is already registered');",
    replace: '',
    tests: IDENTITY,
  },

  // ---------------------------------------------------------------- deals a page starts (worker/host.ts)
  {
    id: 'W-host-request-key-origin',
    check: "a page request's key finds only a deal its own origin started (another site cannot reach it by the key)",
    file: host,
    find: 'const started = found?.origin === origin ? found : undefined;',
    replace: 'const started = found;',
    tests: HOST,
  },
  {
    id: 'W-host-request-key-kind',
    check: 'a page request key that started one kind of deal does not answer for another kind',
    file: host,
    find: "if (started.kind !== kind) throw new SemperError('ERR_REPLAY',",
    replace: "if (false) throw new SemperError('ERR_REPLAY',",
    tests: HOST,
  },
  {
    id: 'W-host-active-cap',
    check: 'a site has at most so many unfinished deals of a kind (it cannot queue trusted windows without end)',
    file: host,
    find: 'if ((await this.deps.store.listActive()).filter(ours).length >= reg.maxActivePerOrigin) {',
    replace: 'if (false) {',
    tests: HOST,
  },
  {
    id: 'W-host-cap-per-origin',
    check: "the caps count one site's deals only: a site cannot use up the shopper's deals with other sites",
    file: host,
    find: 'const ours = (d: DealRecord) => d.origin === origin && d.kind === kind;',
    replace: 'const ours = (d: DealRecord) => d.kind === kind;',
    tests: HOST,
  },
  {
    id: 'W-host-rate',
    check: 'a site starts at most so many deals of a kind a minute, finished or not',
    file: host,
    find: 'if (recent.length >= reg.maxPerOriginPerWindow) {',
    replace: 'if (false) {',
    tests: HOST,
  },
  {
    id: 'W-host-event-ended',
    check: "the user's confirmation or decline of a deal that has ended is refused (it cannot revive it)",
    file: host,
    find: "if (record.terminal) throw new SemperError('ERR_PROTOCOL_STATE', `deal ${dealId} is ${record.status}`);",
    replace: '',
    tests: HOST,
  },
  // ---------------------------------------------------------------- a verdict's time stamp, kept with the deal's evidence
  {
    id: 'W-timestamp-kept-trusted',
    check: "a verdict's time-stamp token is kept with the deal's evidence only once it verified under the user's roots by a TSA the user trusts",
    file: 'extension/disputes/timestamp.ts',
    find: "if (check.status === 'trusted') await deps.store.keepTimestamp(",
    replace: 'await deps.store.keepTimestamp(',
    tests: ['test/extension/settings/tsa-trust.test.ts'],
  },
];
