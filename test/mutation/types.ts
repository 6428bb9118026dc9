// One security check, removed on purpose. The mutation runner (scripts/mutation.ts) applies each
// removal to a scratch copy of the tree, runs the listed test files, and expects at least one test
// to fail: a check no test fails without is not there (see docs/mutation.md).
export interface SecurityCheck {
  /** Stable id, prefixed by manifest: X- exchange, P- purchase, K- PKI and statements. */
  readonly id: string;
  /** What the check guarantees, in the domain's words ("the TTP: m1 is signed by the originator it names"). */
  readonly check: string;
  /** The file holding the check, relative to the repository root. */
  readonly file: string;
  /** Exact source text of the check; must occur exactly once in `file`. */
  readonly find: string;
  /** What replaces it: the check deleted or made always-true. */
  readonly replace: string;
  /** Test files (relative to the root) run against the mutated tree; one of them must fail. */
  readonly tests: readonly string[];
}
