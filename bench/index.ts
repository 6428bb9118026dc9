/**
 * `npm run bench`: every figure is a rate measured in this run, with ratios against its honest floor
 * measured in the same run (issue 13), then a summary of the table. Sections can be picked
 * with BENCH_ONLY=purchase,webauthn,ttp,worker,payment,cluster.
 */
import { type Figure, figureLine } from './harness.js';
import { benchCluster } from './cluster.js';
import { benchEvidence } from './evidence.js';
import { benchPayment } from './payment.js';
import { benchPurchase } from './purchase.js';
import { benchTtp } from './ttp.js';
import { benchWebAuthn } from './webauthn.js';
import { benchWorker } from './worker.js';

const sections: [string, string, () => Promise<{ lines: string[]; figures: Figure[] }>][] = [
  ['purchase', 'Purchase (offer → order → confirmation → delivery)', benchPurchase],
  ['webauthn', 'Hardware-token statements', benchWebAuthn],
  ['ttp', 'Fair-exchange TTP (own process; clients over HTTP in another)', () => benchTtp()],
  ['worker', 'Background worker in Chromium', benchWorker],
  ['evidence', 'Evidence bundles (issue 12)', benchEvidence],
  ['payment', 'Cash: bank and wallet (issue 9)', async () => ({ lines: await benchPayment(), figures: [] })],
  ['cluster', 'Several processes per party, SQLite and PostgreSQL (issue 10)', benchCluster],
];

const only = process.env.BENCH_ONLY?.split(',');
console.log(`Semper benchmarks — node ${process.version}, ${new Date().toISOString()}`);
const figures: Figure[] = [];
for (const [key, title, run] of sections) {
  if (only && !only.includes(key)) continue;
  console.log(`\n## ${title}`);
  const r = await run();
  for (const line of r.lines) console.log(line);
  figures.push(...r.figures);
}
console.log('\n## Issue 13: each figure against its honest floor, this run');
for (const f of figures) console.log(figureLine(f));
