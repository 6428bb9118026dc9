/**
 * The one host step (server/host/step.ts) with a toy machine: a fresh key starts and is stored
 * only by a step that changes it; a refusal writes nothing; a lost compare-and-set re-reads and
 * steps again on the winner's state, and gives up after a bounded number of rounds; a halted key
 * takes no events; revocation status is prepared for the event's chains before the step runs.
 */
import { describe, expect, it } from 'vitest';
import { SemperError } from '../../core/errors.js';
import type { Machine } from '../../core/machine.js';
import type { RevocationSource } from '../../core/pki/revocation.js';
import { MachineHost, type HostedMachine, type StateStore, type StoredState } from '../../server/host/step.js';

interface Counter {
  key: string;
  total: number;
}
type Add = { type: 'add'; amount: number; now: number; signer?: { kind: 'x509'; chain: string[] } };

const log: string[] = [];
const counter: Machine<Counter, Add, { limit: number }, { to: 'caller'; total: number }, never, { key: string }> = {
  kind: 'counter',
  start: async ({ key }) => ({ state: { key, total: 0 }, send: [], effects: [] }),
  async step(state, event, ctx) {
    log.push(`step ${state.total}+${event.amount}`);
    if (state.total + event.amount > ctx.limit) throw new SemperError('ERR_PROTOCOL_STATE', 'over the limit');
    // Adding nothing answers from the state as it is: the very same object (nothing to write).
    const next = event.amount === 0 ? state : { ...state, total: state.total + event.amount };
    return { state: next, send: [{ to: 'caller', total: next.total }], effects: [] };
  },
  pendingSends: () => [],
  wakeAt: () => null,
  isTerminal: () => false,
};

class MemoryStates implements StateStore<Counter> {
  readonly rows = new Map<string, { state: string; version: number; halted: boolean }>();
  puts = 0;
  /** Called before each put: lets a test play "another process wrote first". */
  beforePut: ((key: string) => void) | undefined;

  async get(key: string): Promise<StoredState<Counter> | undefined> {
    const row = this.rows.get(key);
    return row ? { state: JSON.parse(row.state) as Counter, version: row.version, halted: row.halted } : undefined;
  }

  async put(key: string, expectedVersion: number | null, state: Counter, options?: { halt?: boolean }): Promise<boolean> {
    this.puts++;
    this.beforePut?.(key);
    const row = this.rows.get(key);
    if (expectedVersion === null ? row !== undefined : row?.version !== expectedVersion) return false;
    this.rows.set(key, { state: JSON.stringify(state), version: (row?.version ?? 0) + 1, halted: options?.halt ?? false });
    return true;
  }
}

function host(
  store: MemoryStates,
  extra: Partial<HostedMachine<Counter, Add, { limit: number }, { to: 'caller'; total: number }, never, { key: string }>> = {},
) {
  return new MachineHost({ machine: counter, store, startParams: (key) => ({ key }), context: () => ({ limit: 10 }), ...extra });
}

const add = (amount: number, extra: Partial<Add> = {}): Add => ({ type: 'add', amount, now: 1_000, ...extra });

describe('the one host step', () => {
  it('starts a fresh key, stores what a step changed, writes nothing for a refusal or an unchanged state', async () => {
    const store = new MemoryStates();
    const h = host(store);
    await expect(h.step('k', add(11))).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    expect(store.rows.size).toBe(0);
    const first = await h.step('k', add(3));
    expect(first).toMatchObject({ kind: 'stepped', state: { total: 3 }, send: [{ to: 'caller', total: 3 }] });
    expect(store.rows.get('k')?.version).toBe(1);
    expect((await h.step('k', add(0))).kind).toBe('stepped');
    expect(store.puts).toBe(1);
    expect((await h.step('k', add(4))).kind).toBe('stepped');
    expect(store.rows.get('k')).toMatchObject({ version: 2 });
  });

  it("a lost compare-and-set reads the winner's state and steps again on it", async () => {
    const store = new MemoryStates();
    const h = host(store);
    await h.step('k', add(1));
    let raced = false;
    store.beforePut = (key) => {
      if (raced) return;
      raced = true;
      // Another process adds 5 between our read and our write.
      const row = store.rows.get(key)!;
      store.rows.set(key, { ...row, state: JSON.stringify({ key, total: 6 }), version: row.version + 1 });
    };
    log.length = 0;
    const result = await h.step('k', add(2));
    expect(log).toEqual(['step 1+2', 'step 6+2']);
    expect(result).toMatchObject({ kind: 'stepped', state: { total: 8 } });
    expect(JSON.parse(store.rows.get('k')!.state)).toEqual({ key: 'k', total: 8 });
  });

  it('gives up with ERR_INTERNAL when the key keeps changing under a concurrent writer', async () => {
    const store = new MemoryStates();
    const h = host(store);
    await h.step('k', add(1));
    store.beforePut = (key) => {
      const row = store.rows.get(key)!;
      store.rows.set(key, { ...row, version: row.version + 1 });
    };
    await expect(h.step('k', add(1))).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('steps one event per key at a time within a process', async () => {
    const store = new MemoryStates();
    const h = host(store);
    const results = await Promise.all(Array.from({ length: 5 }, () => h.step('k', add(2))));
    expect(results.map((r) => (r.kind === 'stepped' ? r.state.total : -1)).sort((a, b) => a - b)).toEqual([2, 4, 6, 8, 10]);
    expect(store.rows.get('k')?.version).toBe(5);
  });

  it('halts a key when haltAfter says so, and a halted key takes no more events', async () => {
    const store = new MemoryStates();
    const h = host(store, { haltAfter: (_before, after) => after.total >= 5 });
    expect((await h.step('k', add(2))).kind).toBe('stepped');
    expect((await h.step('k', add(3))).kind).toBe('halted');
    expect(store.rows.get('k')).toMatchObject({ halted: true, version: 2 });
    log.length = 0;
    expect((await h.step('k', add(1))).kind).toBe('halted');
    expect(log).toEqual([]);
  });

  it('an event built from the state may find nothing to do', async () => {
    const store = new MemoryStates();
    const h = host(store);
    await h.step('k', add(4));
    expect((await h.step('k', (s) => (s.total > 5 ? add(1) : null))).kind).toBe('idle');
    expect((await h.step('k', (s) => (s.total > 3 ? add(1) : null))).kind).toBe('stepped');
  });

  it('prepares revocation status for the chains in the event before the step, once per event', async () => {
    const calls: string[] = [];
    const source: RevocationSource = {
      prepare: async (chains, roots, now) => {
        calls.push(`prepare ${JSON.stringify(chains)} ${roots.join()} ${now}`);
      },
      isRevoked: async () => false,
    };
    const store = new MemoryStates();
    let raced = false;
    store.beforePut = (key) => {
      if (raced || !store.rows.has(key)) return;
      raced = true;
      const row = store.rows.get(key)!;
      store.rows.set(key, { ...row, version: row.version + 1 });
    };
    const h = host(store, { revocation: { source, roots: ['ROOT'] } });
    log.length = 0;
    const chain = ['MIIBfake'];
    await h.step('k', add(1));
    await h.step('k', add(1, { signer: { kind: 'x509', chain } }));
    expect(calls).toEqual(['prepare [] ROOT 1000', `prepare [["MIIBfake"]] ROOT 1000`]);
    // The second event's step ran twice (a lost compare-and-set), its revocation status was prepared once.
    expect(log).toEqual(['step 0+1', 'step 1+1', 'step 1+1']);
  });
});
