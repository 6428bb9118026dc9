/**
 * Shared by the extension and every verifier of its WebAuthn assertions (the merchant kit, the
 * marketplace): a constant of the protocol, so it lives in core.
 *
 * The extension's id, fixed by the manifest's `key` (the DER public key, base64): the first 32
 * hex digits of SHA-256(key), mapped 0-f → a-p. Verifiers of WebAuthn assertions need it in
 * advance (rpId `chrome-extension://<id>`); the e2e harness asserts Chromium agrees.
 */
export const EXTENSION_ID = 'ogebgngddklbcapdihmjkemgigajimlo';
export const EXTENSION_ORIGIN = `chrome-extension://${EXTENSION_ID}`;
