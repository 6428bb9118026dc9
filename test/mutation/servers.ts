// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the checks are quoted source text, template literals included
// Security checks every Node party shares at its edges: the JSON edge of each POST route (its
// Content-Type, size, nesting, value count, UTF-8, schema), the limits on what a client can make a
// party sign (per address, per deal, the limiter's own memory), the operator's token, the host's
// compare-and-set against a concurrent writer, the append-only tables the database itself keeps
// (the TTP's decisions, ledgers, issued tokens), commits on disk before their answers leave, and one
// database per TTP key. Each with the tests that must fail without it.
// Run: npx tsx scripts/mutation.ts --manifest servers [--only S-json-] [--jobs 2].
// The parties' own checks are in the other manifests: the CA in pki, the merchant kit in purchase,
// the TTP's decisions in exchange.
import type { SecurityCheck } from './types.js';

const json = 'server/http/json.ts';
const rate = 'server/http/rate-limit.ts';
const operator = 'server/http/operator.ts';
const step = 'server/host/step.ts';
const ttpStore = 'server/ttp/store.ts';
const sqlite = 'server/storage/sqlite.ts';

const EDGE = ['test/server/http-edge.test.ts', 'test/server/http-json-reader.test.ts'];
const RATE = ['test/server/rate-limit.test.ts', 'test/server/http-edge.test.ts'];
const OPERATOR = ['test/server/merchant-deal-listing.test.ts', 'test/server/merchant-dispute.test.ts'];
const STEP = ['test/server/host-step.test.ts'];
const TTP = ['test/server/ttp.test.ts'];
const DURABLE = ['test/server/storage-durability.test.ts'];
const APPEND_ONLY = ['test/server/storage.test.ts', 'test/server/bank/ledger.test.ts', 'test/server/ca.test.ts', 'test/server/tsa.test.ts'];

export const checks: SecurityCheck[] = [
  // ---------------------------------------------------------------- the JSON edge (http/json.ts)
  {
    id: 'S-json-content-type',
    check: 'a POST body is read as JSON only under Content-Type application/json (a no-cors form or text/plain is refused)',
    file: json,
    find: 'if (!isJsonRequest(c)) {',
    replace: 'if (false) {',
    tests: EDGE,
  },
  {
    id: 'S-json-declared-size',
    check: 'a body declaring more bytes than the route allows is refused (413) before it is read',
    file: json,
    find: 'if (declaredTooLarge) throw tooLarge();',
    replace: '',
    tests: EDGE,
  },
  {
    id: 'S-json-streamed-size',
    check: 'a body streaming past the route’s bound is cut off (413), whatever it declared',
    file: json,
    find: 'if (size > maxBytes) throw tooLarge();',
    replace: '',
    tests: EDGE,
  },
  {
    id: 'S-json-depth',
    check: 'JSON nested deeper than the bound is refused (400) before it is parsed (no stack exhaustion)',
    file: json,
    find: 'if (++depth > maxDepth) throw refusal(',
    replace: 'if ((++depth, false)) throw refusal(',
    tests: EDGE,
  },
  {
    id: 'S-json-values',
    check: 'a body with more JSON values than the bound is refused (400) before it is parsed',
    file: json,
    find: 'if (++values > maxValues) throw refusal(',
    replace: 'if ((++values, false)) throw refusal(',
    tests: EDGE,
  },
  {
    id: 'S-json-utf8',
    check: 'a body that is not UTF-8 is refused, not read with replacement characters',
    file: json,
    find: "const decoder = new TextDecoder('utf-8', { fatal: true });",
    replace: "const decoder = new TextDecoder('utf-8');",
    tests: EDGE,
  },

  // ---------------------------------------------------------------- what a client can make a party sign (http/rate-limit.ts)
  {
    id: 'S-rate-limit',
    check: 'a key (a client address, a deal) gets at most `limit` attempts per window',
    file: rate,
    find: 'if (recent.length >= this.options.limit) {',
    replace: 'if (false) {',
    tests: RATE,
  },
  {
    id: 'S-rate-memory',
    check: 'the limiter remembers at most maxKeys clients (a flood of addresses cannot grow it without bound)',
    file: rate,
    find: 'while (this.hits.size > max) this.hits.delete(this.hits.keys().next().value!);',
    replace: '',
    tests: RATE,
  },
  {
    id: 'S-budget-deal',
    check: 'requests that continue a deal are limited per deal (one deal cannot make the party sign without bound)',
    file: rate,
    find: 'const waitMs = this.deals.attempt(knownDeal);',
    replace: 'const waitMs = 0;',
    tests: RATE,
  },
  {
    id: 'S-budget-client',
    check: 'requests that open a deal are limited per client address',
    file: rate,
    find: 'const waitMs = this.clients.attempt(peerAddress(c));',
    replace: 'const waitMs = 0;',
    tests: RATE,
  },

  // ---------------------------------------------------------------- the operator (http/operator.ts)
  {
    id: 'S-operator-token',
    check: 'an operator route answers only a request with the configured bearer token (401 otherwise)',
    file: operator,
    find: "if (token !== undefined && !tokenMatches(c.req.header('authorization'), token)) {",
    replace: 'if (false) {',
    tests: OPERATOR,
  },
  {
    id: 'S-operator-required',
    check: 'a route that makes the party sign is closed (403) when no operator token is configured',
    file: operator,
    find: 'if (token === undefined && options.required) {',
    replace: 'if (false) {',
    tests: OPERATOR,
  },

  // ---------------------------------------------------------------- state under concurrent writers (host/step.ts)
  {
    id: 'S-step-compare-and-set',
    check: "a step whose state another writer changed meanwhile is not stored over it: it reads the winner's state and steps again",
    file: step,
    find: 'if (!(await store.put(key, stored ? stored.version : null, result.state, halt ? { halt } : undefined))) continue;',
    replace: 'await store.put(key, stored ? stored.version : null, result.state, halt ? { halt } : undefined);',
    tests: STEP,
  },

  // ---------------------------------------------------------------- tables the database keeps append-only
  {
    id: 'S-ttp-decision-immutable',
    check: 'the database itself refuses to change a TTP decision',
    file: ttpStore,
    find: "CREATE TRIGGER IF NOT EXISTS ttp_exchanges_immutable BEFORE UPDATE ON ttp_exchanges\n    BEGIN SELECT RAISE(ABORT, 'a TTP decision never changes'); END;",
    replace: '',
    tests: TTP,
  },
  {
    id: 'S-ttp-decision-kept',
    check: 'the database itself refuses to delete a TTP decision',
    file: ttpStore,
    find: "CREATE TRIGGER IF NOT EXISTS ttp_exchanges_kept BEFORE DELETE ON ttp_exchanges\n    BEGIN SELECT RAISE(ABORT, 'a TTP decision is never deleted'); END;",
    replace: '',
    tests: TTP,
  },
  {
    id: 'S-append-only-update',
    check: 'an append-only table (a ledger, issued tokens, verdicts) refuses UPDATE in the database itself',
    file: sqlite,
    find: "CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END;",
    replace: '',
    tests: APPEND_ONLY,
  },
  {
    id: 'S-append-only-delete',
    check: 'an append-only table refuses DELETE in the database itself',
    file: sqlite,
    find: "CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END;",
    replace: '',
    tests: APPEND_ONLY,
  },
  // ---------------------------------------------------------------- durability (each open, reopen included)
  {
    id: 'S-durable-store',
    check:
      "every party's SQLite file (the stores, the card adapter, the TTP's reader) commits with synchronous=FULL, also when its WAL file is opened again (an answered commit survives a power cut)",
    file: sqlite,
    find: "db.pragma('synchronous = FULL');",
    replace: '',
    tests: DURABLE,
  },
  {
    id: 'S-durable-acquirer',
    check: "the card acquirer's file commits with synchronous=FULL, also on reopen",
    file: 'server/acquirer/service.ts',
    find: "this.db.pragma('synchronous = FULL');",
    replace: '',
    tests: DURABLE,
  },
  // ---------------------------------------------------------------- one database per TTP (k-of-n independence)
  {
    id: 'S-ttp-owner',
    check: "a TTP refuses a database whose decisions another TTP key claimed (two TTPs of one set on one database would answer with each other's decisions)",
    file: ttpStore,
    find: 'if (owner !== keyId) {',
    replace: 'if (false) {',
    tests: [...TTP, 'test/server/merchant-marketplace-postgres.test.ts'],
  },
  {
    id: 'S-ttp-owner-first',
    check: 'a TTP decides nothing before its database is known to be its own',
    file: 'server/ttp/service.ts',
    find: '    await this.claimed;\n    const now = this.clock();',
    replace: '    const now = this.clock();',
    tests: TTP,
  },
];
