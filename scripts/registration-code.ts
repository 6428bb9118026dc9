/**
 * `npm run registration-code [-- "Name"]`: the CA operator's action — a fresh one-time
 * registration code for a shopper, while `npm start` runs or not (the CA's SQLite file takes a
 * second process: WAL, one transaction per code). A used or lost code is simply replaced this way;
 * the code is also written to registration-code.txt in the data directory, as at start-up.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CaService } from '../server/ca/index.js';
import { DEMO_SHOPPER_NAME } from '../server/marketplace.js';

async function main(): Promise<void> {
  const name = process.argv[2]?.trim() || DEMO_SHOPPER_NAME;
  const dataDir = resolve(process.env.SEMPER_DATA_DIR || './data');
  const ca = await CaService.open({ dataDir });
  try {
    const code = await ca.createRegistrationCode({ name });
    writeFileSync(join(dataDir, 'registration-code.txt'), `${code}\n`, { mode: 0o600 });
    console.log(`Registration code for ${name}: ${code}  (one-time, 7 days; also in ${join(dataDir, 'registration-code.txt')})`);
  } finally {
    await ca.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
