/**
 * The Firefox smoke run (scripts/firefox-smoke.ts) under Vitest, in the e2e config: it builds
 * dist-firefox/, then drives a real headless Firefox over Marionette against the real marketplace
 * (install, purchases, an event-page stop, the WebAuthn probes, a security key registered and an order
 * signed with it). Each step the must-have names is a test here; the run itself happens once.
 *
 * Firefox: SEMPER_FIREFOX, else firefox-esr or firefox on PATH. Without one the suite is skipped —
 * unless SEMPER_REQUIRE_FIREFOX=1 (CI), which makes it one failing test that says so.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findFirefox(): string | undefined {
  const named = process.env.SEMPER_FIREFOX;
  if (named) return executable(named) ? named : undefined;
  for (const name of ['firefox-esr', 'firefox']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir && executable(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

const FIREFOX = findFirefox();
const REQUIRED = process.env.SEMPER_REQUIRE_FIREFOX === '1';

/** Run a command; its output, line by line, and exit code. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeout = 0): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    // timeout: SIGTERM, on which the smoke script stops its Firefox.
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, lines: out.split('\n') }));
  });
}

/** Steps of the run that must-have 8 of issue 11 names (prefixes of its "ok" lines). */
const REQUIRED_STEPS = [
  'installs as a temporary add-on',
  'purchase: the merchant holds the confirmed, signed order',
  'purchase across event-page suspension (idle timeout 3 s): the event page is stopped while the window waits',
  'WebAuthn with rp.id left out (Chromium’s way) is refused: SecurityError',
  'WebAuthn with rp.id = the page origin is refused too: SecurityError',
  'WebAuthn with a web-domain RP ID in the host permissions works; origin = moz-extension://<SHA-256 of the add-on id>',
  'the security-key RP ID is tied to the CA: localhost',
  "the popup's Settings show that domain (Firefox only) and refuse an IP address",
  "axe-core finds no violations on the popup's Settings section in Firefox (WCAG 2.1 A/AA)",
  'registers a security key in the trusted window (worker-verified attestation)',
  'order signed with the security key: the merchant holds the confirmed, signed order',
  'the stored order is token-signed and verifies for the pinned add-on only',
  "the popup's purchases list pages newest first: two pages of the three deals",
];

if (!FIREFOX && REQUIRED) {
  describe('Firefox smoke run', () => {
    it('needs Firefox', () => {
      throw new Error('SEMPER_REQUIRE_FIREFOX=1 but no Firefox found (SEMPER_FIREFOX, firefox-esr or firefox on PATH): apt-get install firefox-esr');
    });
  });
} else {
  describe.skipIf(!FIREFOX)(`Firefox smoke run (${FIREFOX ?? 'no Firefox: skipped'})`, () => {
    let result: { code: number | null; lines: string[] };

    beforeAll(async () => {
      const build = await run('npm', ['run', '-s', 'build:firefox']);
      if (build.code !== 0) throw new Error(`npm run build:firefox failed:\n${build.lines.slice(-20).join('\n')}`);
      // node --import tsx: one process, so a timeout's SIGTERM reaches the script itself.
      result = await run(
        process.execPath,
        ['--import', 'tsx', 'scripts/firefox-smoke.ts', FIREFOX!],
        { ...process.env, SEMPER_SMOKE_ARTIFACTS: 'test-results/firefox' },
        180_000,
      );
      console.log(result.lines.join('\n'));
    }, 240_000);

    it('passes every step', () => {
      const failed = result.lines.filter((l) => l.startsWith('FAIL'));
      expect(failed, failed.join('\n')).toEqual([]);
      expect(result.code).toBe(0);
      expect(result.lines.some((l) => l.startsWith('Firefox smoke test passed'))).toBe(true);
    });

    it.each(REQUIRED_STEPS)('%s', (name) => {
      expect(
        result.lines.some((l) => l.startsWith(`ok    ${name}`)),
        `no "ok" line for this step:\n${result.lines.filter((l) => /^(ok|FAIL)/.test(l)).join('\n')}`,
      ).toBe(true);
    });
  });
}
