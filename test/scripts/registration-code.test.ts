/**
 * `npm run registration-code` (scripts/registration-code.ts): a fresh one-time code from the CA of a
 * data directory — here while a CA process serves the same directory, as beside `npm start` — that
 * the running CA then redeems once.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCertificate } from '../../core/pki/index.js';
import { CaService, createCaApp } from '../../server/ca/index.js';
import { listen, type RunningServer } from '../../server/http/listen.js';
import { tempDataDir } from '../server/helpers.js';
import { registerShopper } from '../server/registration-helpers.js';

const tmp = tempDataDir('registration-code-script');
let ca: CaService;
let server: RunningServer;

beforeAll(async () => {
  ca = await CaService.open({ dataDir: tmp.dir });
  const app = createCaApp(ca, { registrationAttemptsPerMinute: 1000 });
  server = await listen({ host: '127.0.0.1', port: 0, fetch: (req, env) => app.fetch(req, env) });
});

afterAll(async () => {
  await server?.close();
  ca?.close();
  tmp.remove();
});

const newCode = (name: string): string => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/registration-code.ts', name], {
    env: { ...process.env, SEMPER_DATA_DIR: tmp.dir },
    encoding: 'utf8',
  });
  const code = /: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\s/.exec(out)?.[1];
  expect(code, out).toBeDefined();
  expect(readFileSync(join(tmp.dir, 'registration-code.txt'), 'utf8').trim()).toBe(code);
  return code!;
};

describe('npm run registration-code', () => {
  it('makes a code the running CA redeems once, for the name given', async () => {
    const code = newCode('Bob Example');
    const first = await registerShopper(server.url, code);
    expect(first.res.status).toBe(200);
    expect((await readCertificate(first.res.json!.certificate)).commonName).toBe('Bob Example');
    // Used: a second redemption fails; the next run of the script gives a fresh one that works.
    expect((await registerShopper(server.url, code)).res.status).toBeGreaterThanOrEqual(400);
    const fresh = newCode('Bob Example');
    expect(fresh).not.toBe(code);
    expect((await registerShopper(server.url, fresh)).res.status).toBe(200);
  }, 60_000);
});
