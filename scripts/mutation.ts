// Mutation testing of the security checks: `npm run mutation [-- --only X- --jobs 2 --write]`.
// Each check in test/mutation/{exchange,purchase,pki,fair}.ts is removed, one at a time, in a scratch copy
// of the working tree (never in the tree itself), and its test files are run. A check that leaves
// every test green "survived": the suites could not tell it was gone. The run prints each result as
// it comes (check → the first test that failed without it), and `--write` stores the table of each
// manifest in docs/mutation-<manifest>.md (docs/mutation.md says how to read them).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SecurityCheck } from '../test/mutation/types.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MANIFESTS = ['exchange', 'purchase', 'pki', 'fair', 'extension', 'servers', 'money', 'evidence'] as const;

interface Options {
  manifests: string[];
  only: string[];
  jobs: number;
  write: boolean;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { manifests: [...MANIFESTS], only: [], jobs: 2, write: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--manifest') o.manifests = next().split(',');
    else if (a === '--only') o.only = next().split(',');
    else if (a === '--jobs') o.jobs = Math.max(1, Number(next()));
    else if (a === '--write') o.write = true;
    else if (a === '--keep') o.keep = true;
    else throw new Error(`unknown option ${a} (--manifest ${MANIFESTS.join(',')} --only ID-PREFIX,... --jobs N --write --keep)`);
  }
  return o;
}

async function loadChecks(manifests: string[]): Promise<SecurityCheck[]> {
  const all: SecurityCheck[] = [];
  for (const m of manifests) {
    const path = join(root, 'test/mutation', `${m}.ts`);
    if (!existsSync(path)) throw new Error(`no manifest test/mutation/${m}.ts`);
    const mod = (await import(path)) as { checks: SecurityCheck[] };
    all.push(...mod.checks);
  }
  const ids = new Set<string>();
  for (const c of all) {
    if (ids.has(c.id)) throw new Error(`duplicate check id ${c.id}`);
    ids.add(c.id);
  }
  return all;
}

/** The check's text must be in its file exactly once, or the manifest is stale. */
function validate(c: SecurityCheck): string | undefined {
  const path = join(root, c.file);
  if (!existsSync(path)) return `${c.file} does not exist`;
  const text = readFileSync(path, 'utf8');
  const first = text.indexOf(c.find);
  if (first < 0) return `its text is not in ${c.file} (stale manifest)`;
  if (text.indexOf(c.find, first + 1) >= 0) return `its text occurs more than once in ${c.file}`;
  if (c.find === c.replace) return 'the mutation changes nothing';
  for (const t of c.tests) if (!existsSync(join(root, t))) return `test file ${t} does not exist`;
  if (c.tests.length === 0) return 'no test files listed';
  return undefined;
}

/** A copy of the working tree (tracked and new files, not ignored ones) sharing node_modules, under this run's own parent. */
function makeScratch(parent: string): string {
  const dir = mkdtempSync(join(parent, 'tree-'));
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' });
  if (files.status !== 0) throw new Error(`git ls-files failed: ${files.stderr}`);
  for (const f of files.stdout.split('\0')) {
    // node_modules may be a symlink of a git worktree (untracked, not ignored): the scratch copy links its own below.
    if (!f || f === 'node_modules' || !existsSync(join(root, f))) continue;
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(root, f), join(dir, f));
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

interface Outcome {
  status: 'killed' | 'survived' | 'broken' | 'invalid';
  detail: string;
  seconds: number;
}

interface JsonReport {
  numFailedTestSuites: number;
  numTotalTests: number;
  testResults: { name: string; message?: string; assertionResults: { fullName: string; status: string }[] }[];
}

function runVitest(dir: string, tests: readonly string[]): Promise<JsonReport | undefined> {
  const out = join(dir, `.mutation-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${out}`, ...tests], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
    child.on('exit', () => {
      clearTimeout(timer);
      if (!existsSync(out)) return done(undefined);
      const report = JSON.parse(readFileSync(out, 'utf8')) as JsonReport;
      rmSync(out, { force: true });
      done(report);
    });
  });
}

async function mutate(dir: string, c: SecurityCheck): Promise<Outcome> {
  const start = Date.now();
  const seconds = (): number => Math.round((Date.now() - start) / 100) / 10;
  const invalid = validate(c);
  if (invalid) return { status: 'invalid', detail: invalid, seconds: 0 };
  const path = join(dir, c.file);
  const original = readFileSync(path, 'utf8');
  writeFileSync(
    path,
    original.replace(c.find, () => c.replace),
  );
  try {
    const report = await runVitest(dir, c.tests);
    if (!report) return { status: 'broken', detail: 'vitest wrote no report', seconds: seconds() };
    const failed = report.testResults.flatMap((r) =>
      r.assertionResults.filter((a) => a.status === 'failed').map((a) => `${r.name.slice(dir.length + 1)} › ${a.fullName}`),
    );
    if (failed.length > 0) return { status: 'killed', detail: failed[0] + (failed.length > 1 ? ` (+${failed.length - 1})` : ''), seconds: seconds() };
    if (report.numFailedTestSuites > 0) {
      const msg = report.testResults.find((r) => r.message)?.message?.split('\n')[0] ?? '';
      return { status: 'broken', detail: `a test file failed to load: ${msg}`, seconds: seconds() };
    }
    if (report.numTotalTests === 0) return { status: 'broken', detail: 'no tests ran', seconds: seconds() };
    return { status: 'survived', detail: `${report.numTotalTests} tests passed without it`, seconds: seconds() };
  } finally {
    writeFileSync(path, original);
  }
}

function cell(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const all = await loadChecks(opts.manifests);
  // An id given whole selects that check only; otherwise it is a prefix (X-ttp selects every X-ttp-…).
  const selects = (id: string, p: string): boolean => (all.some((c) => c.id === p) ? id === p : id.startsWith(p));
  const checks = opts.only.length ? all.filter((c) => opts.only.some((p) => selects(c.id, p))) : all;
  if (checks.length === 0) throw new Error('no checks selected');
  // A private parent: nothing else that cleans up temporary directories by name can empty it mid-run.
  const parent = mkdtempSync(join(tmpdir(), `semper-mutation-${process.pid}-`));
  const scratches = Array.from({ length: Math.min(opts.jobs, checks.length) }, () => makeScratch(parent));

  // The unmutated tree must pass the selected tests, or every "killed" would mean nothing.
  const baselineFiles = [...new Set(checks.flatMap((c) => c.tests))].filter((t) => existsSync(join(root, t)));
  const baseline = await runVitest(scratches[0] as string, baselineFiles);
  const baselineFailed = baseline?.testResults.flatMap((r) => r.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName)) ?? ['no report'];
  if (!baseline || baselineFailed.length > 0 || baseline.numFailedTestSuites > 0) {
    throw new Error(`the unmutated tree fails its own tests: ${baselineFailed.slice(0, 3).join('; ')}`);
  }

  const results = new Map<string, Outcome>();
  let next = 0;
  await Promise.all(
    scratches.map(async (dir) => {
      while (next < checks.length) {
        const c = checks[next++] as SecurityCheck;
        // One check's trouble (a vanished scratch file, a crashed vitest) is its own result, not the run's end.
        const o = await mutate(dir, c).catch(
          (e: unknown): Outcome => ({ status: 'broken', detail: `runner: ${e instanceof Error ? e.message : String(e)}`, seconds: 0 }),
        );
        results.set(c.id, o);
        console.log(`${o.status.padEnd(8)} ${c.id.padEnd(28)} ${String(o.seconds).padStart(6)} s  ${o.detail}`);
      }
    }),
  );
  if (!opts.keep) rmSync(parent, { recursive: true, force: true });

  const count = (s: Outcome['status']): number => [...results.values()].filter((o) => o.status === s).length;
  const summary = `${checks.length} checks: ${count('killed')} killed, ${count('survived')} survived, ${count('broken')} broken, ${count('invalid')} invalid`;
  console.log(summary);

  if (opts.write) {
    if (opts.only.length) throw new Error('--write stores whole manifests: run it without --only');
    for (const m of opts.manifests) {
      const mod = (await import(join(root, 'test/mutation', `${m}.ts`))) as { checks: SecurityCheck[] };
      const mine = mod.checks;
      const killed = mine.filter((c) => results.get(c.id)?.status === 'killed').length;
      const rows = mine.map((c) => {
        const o = results.get(c.id) as Outcome;
        return `| ${c.id} | ${cell(c.check)} | \`${c.file}\` | ${o.status === 'killed' ? cell(o.detail) : `**${o.status}**: ${cell(o.detail)}`} |`;
      });
      const doc = [
        `# Mutation table (${m}): each security check and the test that fails without it`,
        '',
        `Generated by \`npm run mutation -- --manifest ${m} --write\` from \`test/mutation/${m}.ts\`; see`,
        '[mutation.md](mutation.md) for how the table is made and read.',
        '',
        `${mine.length} checks, ${killed} killed by a test, ${mine.length - killed} not.`,
        '',
        '| id | check | file | killed by (first failing test) |',
        '|---|---|---|---|',
        ...rows,
        '',
      ].join('\n');
      writeFileSync(join(root, `docs/mutation-${m}.md`), doc);
      console.log(`wrote docs/mutation-${m}.md`);
    }
  }
  process.exit(count('killed') === checks.length ? 0 : 1);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
