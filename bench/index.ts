/** `npm run bench`: every figure is a rate measured in this run, with ratios against baselines measured in the same run. */
import { benchPurchase } from './purchase.js';
import { benchWebAuthn } from './webauthn.js';
import { benchTtp } from './ttp.js';
import { benchPayment } from './payment.js';

async function ttpLines(): Promise<string[]> {
  const r = await benchTtp();
  return [
    `TTP decisions over HTTP (16 concurrent clients): ${r.decisionsPerSecond.toFixed(0)} /s`,
    `TTP decisions in-process (no HTTP):              ${r.inProcessDecisionsPerSecond.toFixed(0)} /s`,
    `TTP raw ES256 signs (same key, same run):        ${r.rawSignsPerSecond.toFixed(0)} /s`,
    `  ratio decisions over HTTP / raw signs: ${r.ratio.toFixed(3)}; in-process / raw signs: ${(r.inProcessDecisionsPerSecond / r.rawSignsPerSecond).toFixed(3)}`,
  ];
}

const sections: [string, () => Promise<string[]>][] = [
  ['Purchase (offer → order → confirmation → delivery)', benchPurchase],
  ['Hardware-token statements', benchWebAuthn],
  ['Fair-exchange TTP', ttpLines],
  ['Cash: bank and wallet (issue 9)', benchPayment],
];

console.log(`Semper benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const [title, run] of sections) {
  console.log(`\n## ${title}`);
  for (const line of await run()) console.log(line);
}
