/**
 * A verdict's time stamp (issue 12 items 3 and 6): the arbiter has its verdicts stamped by a TSA
 * after answering (server/storage/statement-stamps.ts) and serves the token with the verdict
 * (`GET <arbiter>/arbiter/verdicts/:id`). The worker asks the arbiter that signed the archived
 * verdict — found among the user's trusted arbiters by its certificate, never an address from
 * anywhere else — and checks the token over the verdict's digest under the user's CA roots and
 * against the user's trusted TSAs (settings/tsa-trust.ts): a token from any other TSA is reported as
 * untrusted, not as a time. A trusted token is kept with the archived verdict (the first one stays),
 * and the deal's evidence bundle carries it from then on.
 */
import { z } from '../../core/zod.js';
import { ARBITER_TYPES } from '../../core/arbiter/statements.js';
import { decodeBase64url } from '../../core/encoding/base64url.js';
import { SemperError } from '../../core/errors.js';
import { readCertificate } from '../../core/pki/certificates.js';
import type { DealStore } from '../deals/records.js';
import type { TrustedArbiters } from '../settings/arbiter-trust.js';
import type { CheckTimestamp, TimestampCheck, TrustedTsas } from '../settings/tsa-trust.js';

const VerdictAnswer = z.looseObject({ timestamp: z.optional(z.string().check(z.minLength(1), z.maxLength(64_000))) });

export interface VerdictTimestampDeps {
  store: Pick<DealStore, 'archiveOf' | 'keepTimestamp'>;
  arbiters: Pick<TrustedArbiters, 'list'>;
  tsas: Pick<TrustedTsas, 'list'>;
  roots: { ders(): Promise<string[]> };
  getJson(url: string): Promise<unknown>;
  /** settings/tsa-check.ts; the worker runs it as an offscreen task (extension/offscreen), out of its start bundle. */
  checkTimestamp: CheckTimestamp;
}

export async function verdictTimestamp(deps: VerdictTimestampDeps, input: { dealId: string; verdict: string }): Promise<{ status: 'none' } | TimestampCheck> {
  const entry = (await deps.store.archiveOf(input.dealId)).find((a) => a.type === ARBITER_TYPES.verdict && a.digest === input.verdict);
  if (!entry) throw new SemperError('ERR_NOT_FOUND', `deal ${input.dealId} has no verdict ${input.verdict}`);
  const signer = entry.statement.signature.signer;
  if (signer.kind !== 'x509') throw new SemperError('ERR_CERT_UNTRUSTED', 'the verdict is not signed with a certificate');
  const { fingerprint } = await readCertificate(signer.chain[0]!);
  const arbiter = (await deps.arbiters.list()).find((a) => a.fingerprint === fingerprint);
  if (!arbiter) throw new SemperError('ERR_CERT_UNTRUSTED', 'the arbiter that signed this verdict is no longer one of your trusted arbiters');
  const answer = VerdictAnswer.safeParse(await deps.getJson(`${arbiter.url}/arbiter/verdicts/${input.verdict}`));
  if (!answer.success) throw new SemperError('ERR_SCHEMA', `${arbiter.url} did not answer with the verdict`);
  if (!answer.data.timestamp) return { status: 'none' };
  const check = await deps.checkTimestamp(answer.data.timestamp, decodeBase64url(input.verdict), {
    roots: await deps.roots.ders(),
    tsas: await deps.tsas.list(),
  });
  // A time the user can rely on is kept with the verdict, so the deal's evidence carries it (disputes/bundle.ts).
  if (check.status === 'trusted') await deps.store.keepTimestamp(input.dealId, input.verdict, answer.data.timestamp);
  return check;
}
