import { generateKeyPair, signerFromKeyPair, verifyRaw } from '../core/crypto/index.js';
import { utf8 } from '../core/encoding/index.js';
const s = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
for (const n of [600, 1500, 3000, 6000]) {
  const d = utf8('x'.repeat(n)); const sig = await s.sign(d);
  for (let r = 0; r < 3; r++) {
    let t = performance.now(); for (let i = 0; i < 3000; i++) await s.sign(d); const ts = (performance.now() - t) / 3;
    t = performance.now(); for (let i = 0; i < 3000; i++) await verifyRaw('ES256', s.publicJwk, d, sig); const tv = (performance.now() - t) / 3;
    console.log(n, 'sign', ts.toFixed(1), 'verify', tv.toFixed(1));
  }
}
