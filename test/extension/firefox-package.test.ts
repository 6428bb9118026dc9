/**
 * The Firefox package: one build (vite.config.firefox.ts into a temporary directory), packed with
 * scripts/pack-firefox.ts, checked by addons-linter (the directory and the zip) and by reading the
 * manifest. No Firefox runs here: this is what Mozilla's own validator says, plus the fields Semper
 * relies on.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import chromiumManifest from '../../manifest.json' with { type: 'json' };
import { FIREFOX_MIN_VERSION, GECKO_ID, firefoxWebAuthnOrigin, type FirefoxManifest } from '../../scripts/firefox-manifest.js';

/** The manifest as the build writes it: the derived Firefox fields plus what crxjs carries over. */
type BuiltManifest = FirefoxManifest & {
  host_permissions: string[];
  content_security_policy: unknown;
  action: { default_popup: string };
  content_scripts: { js: string[]; world?: string; run_at: string }[];
};
import { zipDirectory } from '../../scripts/pack-firefox.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

interface LintMessage {
  code: string;
  message: string;
  file?: string;
  line?: number;
}
interface LintResult {
  summary: { errors: number; warnings: number; notices: number };
  errors: LintMessage[];
  warnings: LintMessage[];
  notices: LintMessage[];
}
interface AddonsLinter {
  createInstance(options: { config: Record<string, unknown>; runAsBinary: boolean }): { run(): Promise<LintResult> };
}
const addonsLinter = createRequire(import.meta.url)('addons-linter') as AddonsLinter;

function lint(path: string): Promise<LintResult> {
  return addonsLinter
    .createInstance({
      config: {
        _: [path],
        logLevel: 'fatal',
        stack: false,
        pretty: false,
        warningsAsErrors: false,
        metadata: false,
        output: 'none',
        boring: false,
        selfHosted: false,
      },
      runAsBinary: false,
    })
    .run();
}

/**
 * Warnings addons-linter gives about third-party code in the bundles, reviewed and accepted
 * (extension/README.md, "Firefox"): preact's dangerouslySetInnerHTML branch, zod's and
 * reflect-metadata's eval feature probes (MV3's CSP forbids eval, so the probes fail closed).
 */
const ACCEPTED_WARNINGS = new Set(['UNSAFE_VAR_ASSIGNMENT', 'DANGEROUS_EVAL']);

let work: string;
let dist: string;
let zip: string;
let manifest: BuiltManifest;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'semper-firefox-'));
  dist = join(work, 'dist-firefox');
  zip = join(work, 'dist-firefox.zip');
  await promisify(execFile)(
    process.execPath,
    [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.config.firefox.ts', '--outDir', dist, '--emptyOutDir', '--logLevel', 'error'],
    { cwd: root, timeout: 150_000 },
  );
  writeFileSync(zip, zipDirectory(dist));
  manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as BuiltManifest;
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('Firefox package (npm run build:firefox)', () => {
  it('passes addons-linter with zero errors, as a directory and as the packed zip', async () => {
    for (const target of [dist, zip]) {
      const result = await lint(target);
      expect(result.errors, `${target}: ${JSON.stringify(result.errors, null, 1)}`).toEqual([]);
      expect(result.summary.errors).toBe(0);
      // Only the reviewed third-party warnings; none about the manifest or Semper's own scripts.
      for (const w of result.warnings) {
        expect(ACCEPTED_WARNINGS.has(w.code), `${w.code} in ${w.file}: ${w.message}`).toBe(true);
        expect(w.file).not.toBe('manifest.json');
        expect(w.file ?? '').not.toMatch(/^extension\//);
      }
    }
  }, 180_000);

  it('has a Firefox manifest: gecko id and minimum version, an event page, no Chromium-only keys', () => {
    expect(manifest.manifest_version).toBe(3);
    expect(manifest.browser_specific_settings.gecko.id).toBe(GECKO_ID);
    expect(manifest.browser_specific_settings.gecko.strict_min_version).toBe(FIREFOX_MIN_VERSION);
    // world: "MAIN" content scripts need Firefox 128.
    expect(Number.parseInt(manifest.browser_specific_settings.gecko.strict_min_version, 10)).toBeGreaterThanOrEqual(128);
    expect(manifest.browser_specific_settings.gecko.data_collection_permissions.required.length).toBeGreaterThan(0);
    expect(manifest).not.toHaveProperty('key');
    expect(manifest).not.toHaveProperty('minimum_chrome_version');
    expect(manifest.background).not.toHaveProperty('service_worker');
    expect(manifest.background.type).toBe('module');
    expect(manifest.background.scripts).toHaveLength(1);

    // The background loader is one relative module import of a file that is in the package.
    const loader = readFileSync(join(dist, manifest.background.scripts[0]!), 'utf8');
    const imported = /^import '\.\/([^']+)';\s*$/.exec(loader)?.[1];
    expect(imported, loader).toBeDefined();
    expect(existsSync(join(dist, imported!))).toBe(true);

    // Everything else is the Chromium manifest's.
    // Less the offscreen document, which Firefox does not have (its event page imports those tasks instead).
    expect(manifest.permissions).toEqual(chromiumManifest.permissions.filter((p: string) => p !== 'offscreen'));
    expect(chromiumManifest.permissions).toContain('offscreen');
    expect(manifest.host_permissions).toEqual(chromiumManifest.host_permissions);
    expect(manifest.content_security_policy).toEqual(chromiumManifest.content_security_policy);
    expect(manifest.action.default_popup).toBe(chromiumManifest.action.default_popup);
    expect(manifest).not.toHaveProperty('web_accessible_resources');
    expect(manifest.content_scripts.map((c: { js: string[]; world?: string; run_at: string }) => [c.js, c.world, c.run_at])).toEqual([
      [['extension/content/provider.iife.js'], 'MAIN', 'document_start'],
      [['extension/content/content.iife.js'], undefined, 'document_start'],
    ]);
    for (const file of [
      'extension/content/provider.iife.js',
      'extension/content/content.iife.js',
      'popup/index.html',
      'trusted-window/index.html',
      '_locales/en/messages.json',
      '_locales/de/messages.json',
    ]) {
      expect(existsSync(join(dist, file)), file).toBe(true);
    }
  });

  it('names the WebAuthn origin Firefox reports for this add-on id (measured in Firefox ESR 153)', async () => {
    expect(await firefoxWebAuthnOrigin()).toBe('moz-extension://bhjcdglnojfkglkkdnobcjpmiddmbpkgmghjdgknbfhapmcfbdohjpeignnhpfkf');
  });

  it('keeps the polyfill out of the MAIN-world provider and ships no dev-server loader', () => {
    // The MAIN-world provider must not carry the polyfill (it would throw in the page's world).
    expect(readFileSync(join(dist, 'extension/content/provider.iife.js'), 'utf8')).not.toMatch(/chrome\.runtime|webextension-polyfill/);
    const content = readFileSync(join(dist, 'extension/content/content.iife.js'), 'utf8');
    expect(content).toMatch(/webextension-polyfill/);
    expect(content).not.toMatch(/localhost:\d+|@vite\/client/);
  });
});
