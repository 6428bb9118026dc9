// Security checks of the fair-exchange layer (core/exchange, core/commerce/exchange-*), each with
// the tests that must fail without it. Run: npm run mutation -- --manifest exchange.
import type { SecurityCheck } from './types.js';

export const checks: SecurityCheck[] = [
  {
    id: 'X-ttp-m1-signer',
    check: 'the TTP: m1 is signed by the originator it names',
    file: 'core/exchange/ttp.ts',
    find: "if (m1.keyId !== m1.body.originator.keyId) throw new SemperError('ERR_SIGNATURE_INVALID', 'm1 is not signed by the originator it names');",
    replace: '',
    tests: ['test/core/exchange/ttp.test.ts', 'test/core/exchange/checks.test.ts', 'test/protocols/dolev-yao.test.ts'],
  },
];
