/** `npm run bench`: every figure is a rate measured in this run, with ratios against baselines measured in the same run. */
import { benchPurchase } from './purchase.js';
import { benchWebAuthn } from './webauthn.js';

const sections: [string, () => Promise<string[]>][] = [
  ['Purchase (issue 2)', benchPurchase],
  ['Hardware-token statements (issue 3)', benchWebAuthn],
];

try {
  const ttpModule = './ttp.js';
  const mod = (await import(ttpModule)) as { benchTtp?: () => Promise<{ decisionsPerSecond: number; rawSignsPerSecond: number; ratio: number }> };
  if (mod.benchTtp) {
    const benchTtp = mod.benchTtp;
    sections.push([
      'TTP (fair exchange)',
      async () => {
        const r = await benchTtp();
        return [`TTP decisions over HTTP: ${r.decisionsPerSecond.toFixed(0)} /s`, `TTP raw ES256 signs:     ${r.rawSignsPerSecond.toFixed(0)} /s`, `  ratio decisions/raw signs: ${r.ratio.toFixed(3)}`];
      },
    ]);
  }
} catch {
  // The TTP bench lands with the fair-exchange work.
}

console.log(`Semper benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const [title, run] of sections) {
  console.log(`\n## ${title}`);
  for (const line of await run()) console.log(line);
}
