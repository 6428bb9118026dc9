/**
 * Shared by the extension and every verifier of its WebAuthn assertions (the merchant kit, the
 * marketplace): a constant of the protocol, so it lives in core.
 *
 * The extension's id, fixed by the manifest's `key` (the DER public key, base64): the first 32
 * hex digits of SHA-256(key), mapped 0-f → a-p. Verifiers of WebAuthn assertions need it in
 * advance (rpId `chrome-extension://<id>`); the e2e harness asserts Chromium agrees.
 */
import { SemperError } from '../errors.js';
import type { WebAuthnRelyingParty } from '../crypto/webauthn.js';

export const EXTENSION_ID = 'ogebgngddklbcapdihmjkemgigajimlo';
export const EXTENSION_ORIGIN = `chrome-extension://${EXTENSION_ID}`;

/**
 * Firefox: the add-on id (`browser_specific_settings.gecko.id`, scripts/firefox-manifest.ts). Firefox
 * derives no id from a key, so this pins the add-on as the manifest key pins the Chromium extension.
 */
export const GECKO_ID = 'semper@semper.example';

/**
 * What Firefox (150+) writes as clientDataJSON.origin in a WebAuthn ceremony on a page of the add-on
 * GECKO_ID: `moz-extension://` + SHA-256(add-on id) as 64 letters a–p (one per half-byte) — the same
 * for every install, unlike the pages' own origin `moz-extension://<per-install UUID>`. Measured in
 * Firefox ESR 153 (scripts/firefox-smoke.ts); test/core/protocol asserts it is firefoxWebAuthnOrigin(GECKO_ID).
 */
export const FIREFOX_WEBAUTHN_ORIGIN = 'moz-extension://bhjcdglnojfkglkkdnobcjpmiddmbpkgmghjdgknbfhapmcfbdohjpeignnhpfkf';

/** Firefox's WebAuthn origin for an add-on id (FIREFOX_WEBAUTHN_ORIGIN for GECKO_ID). */
export async function firefoxWebAuthnOrigin(geckoId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(geckoId)));
  const letters = Array.from(digest, (b) => String.fromCharCode(97 + (b >> 4), 97 + (b & 15))).join('');
  return `moz-extension://${letters}`;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A web-domain RP ID for Firefox tokens: a lower-case DNS name (letters, digits, hyphens; `localhost`
 * included), not an IP address — WebAuthn RP IDs are domains, and Firefox refuses `127.0.0.1`
 * (SecurityError, measured). Whether the add-on's host permissions cover it is the browser's check.
 */
export function normaliseTokenRpId(text: string): string {
  const rpId = text.trim().toLowerCase().replace(/\.$/, '');
  const labels = rpId.split('.');
  if (rpId.length === 0 || rpId.length > 253 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels.at(-1)!)) {
    throw new SemperError('ERR_SCHEMA', `a security-key RP ID is a web domain such as shop.example or localhost (not ${JSON.stringify(text.slice(0, 80))})`);
  }
  return rpId;
}

/**
 * The Firefox RP ID tied to a party's URL (the verifying party's, e.g. the CA's): its host name; a
 * loopback address (127.0.0.1, [::1]), which cannot be an RP ID, stands for `localhost` (the same
 * machine). undefined for any other IP address: the shopper must name a domain.
 */
export function tokenRpIdFor(partyUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(partyUrl).hostname;
  } catch {
    return undefined;
  }
  if (/^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]') return 'localhost';
  try {
    return normaliseTokenRpId(host);
  } catch {
    return undefined;
  }
}

/**
 * Whose hardware-token signatures a verifier accepts: the pinned Chromium extension (origin = RP ID =
 * `chrome-extension://<id>`) and, when Firefox RP IDs are given, the pinned Firefox add-on
 * (FIREFOX_WEBAUTHN_ORIGIN) with exactly those web-domain RP IDs.
 */
export function extensionRelyingParties(
  options: { chromiumOrigin?: string; firefoxRpIds?: readonly string[]; firefoxOrigin?: string } = {},
): WebAuthnRelyingParty[] {
  const chromium = options.chromiumOrigin ?? EXTENSION_ORIGIN;
  const firefoxRpIds = (options.firefoxRpIds ?? []).map(normaliseTokenRpId);
  return [
    { origin: chromium, rpIds: [chromium] },
    ...(firefoxRpIds.length > 0 ? [{ origin: options.firefoxOrigin ?? FIREFOX_WEBAUTHN_ORIGIN, rpIds: firefoxRpIds }] : []),
  ];
}
