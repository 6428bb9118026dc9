/**
 * A throwaway PostgreSQL cluster for tests and the bench (issue 10: PostgreSQL in tests and CI, no
 * Docker): `initdb` into a temporary directory, the server listening on a Unix socket in that
 * directory only (listen_addresses=''), trust authentication, and gone again after the run.
 * initdb refuses to run as root, so as root the cluster belongs to the `postgres` user (Debian's
 * package creates it) and initdb/pg_ctl run through `runuser`.
 *
 * Debian keeps initdb and pg_ctl in /usr/lib/postgresql/<major>/bin, not on PATH: both places are
 * searched. `npx tsx scripts/postgres-cluster.ts` starts one and prints its URL until Ctrl-C.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface Cluster {
  /** postgres://…?host=<socket dir>: the `postgres` database as superuser `postgres`. */
  url: string;
  dir: string;
  stop(): void;
}

/** The directory holding initdb and pg_ctl, or null when PostgreSQL is not installed. */
export function postgresBin(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of majors) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  return null;
}

export function startCluster(options: { durable?: boolean } = {}): Cluster {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (no initdb): apt-get install postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'semper-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  let uid: number | undefined;
  if (asRoot) {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  // Tests: nothing needs to survive a crash of a throwaway cluster. The bench keeps fsync on so its
  // figures compare with SQLite's synchronous=FULL.
  const durability = options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'];
  const settings = [`-c listen_addresses=''`, `-c unix_socket_directories=${dir}`, '-c max_connections=200', ...durability].join(' ');
  run('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', '-s', 'start']);
  let stopped = false;
  return {
    url: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`,
    dir,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-s', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A fresh, empty database in the cluster (one per test file or bench run), and its URL. */
export async function freshDatabase(clusterUrl: string, prefix = 'semper'): Promise<string> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const client = new pg.Client({ connectionString: clusterUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A fresh, empty schema in the database at `url` and a URL whose connections work in it
 * (search_path): as separate as a database for tables, triggers and functions, and made in
 * milliseconds rather than the half second CREATE DATABASE takes.
 */
export async function freshSchema(url: string, prefix = 's'): Promise<string> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${name}`);
  } finally {
    await client.end();
  }
  const out = new URL(url);
  out.searchParams.set('options', `-c search_path=${name}`);
  return out.toString();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cluster = startCluster({ durable: process.argv.includes('--durable') });
  console.log(cluster.url);
  const stop = () => {
    cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => undefined, 1 << 30);
}
