/**
 * The guarantee policy setting (extension/settings/ttp-trust.ts): which trusted TTPs may guarantee an exchange and
 * k. Only TTPs trusted now may be chosen; k > n/2 at the operation boundary and in the setting; a TTP removed later
 * stays in the policy (guaranteeing nothing), so k is never lowered behind the user's back; a stored value that is
 * not a policy is refused, never read as "none".
 */
import { describe, expect, it } from 'vitest';
import { MemoryFingerprintRecords } from '../../../extension/settings/arbiter-trust.js';
import { memoryValue, TrustedTtps, type TrustedTtp } from '../../../extension/settings/ttp-trust.js';
import { OPERATIONS, OperationMessage } from '../../../extension/operations/table.js';
import { settingsHandlers } from '../../../extension/operations/handlers/settings.js';
import type { OperationContext } from '../../../extension/operations/context.js';

const F = (c: string) => c.repeat(43);

async function setting(value = memoryValue()) {
  const ttps = new TrustedTtps(new MemoryFingerprintRecords<TrustedTtp>(), () => 1, value);
  for (const [i, c] of ['a', 'b', 'c'].entries()) await ttps.add({ fingerprint: F(c), url: `http://127.0.0.1:${8452 + i}` });
  return ttps;
}

describe('guarantee policy setting', () => {
  it('none until chosen; a choice of trusted TTPs and k is kept; null goes back to the merchant’s one TTP', async () => {
    const ttps = await setting();
    expect(await ttps.policy()).toBeNull();
    expect(await ttps.setPolicy({ ttps: [F('a'), F('b'), F('c')], k: 2 })).toEqual({ ttps: [F('a'), F('b'), F('c')], k: 2 });
    expect(await ttps.policy()).toEqual({ ttps: [F('a'), F('b'), F('c')], k: 2 });
    expect(await ttps.setPolicy(null)).toBeNull();
    expect(await ttps.policy()).toBeNull();
  });

  it('refuses TTPs not trusted now, k of half or less, k above n, a TTP twice', async () => {
    const ttps = await setting();
    await expect(ttps.setPolicy({ ttps: [F('a'), F('x'), F('b')], k: 2 })).rejects.toMatchObject({ code: 'ERR_TTP' });
    await expect(ttps.setPolicy({ ttps: [F('a'), F('b')], k: 1 })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(ttps.setPolicy({ ttps: [F('a'), F('b')], k: 3 })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(ttps.setPolicy({ ttps: [F('a'), F('a'), F('b')], k: 2 })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    expect(await ttps.policy()).toBeNull();
  });

  it('a TTP removed later stays in the policy but is no longer trusted: k is not lowered, the TTP guarantees nothing', async () => {
    const ttps = await setting();
    await ttps.setPolicy({ ttps: [F('a'), F('b'), F('c')], k: 3 });
    await ttps.remove(F('c'));
    expect(await ttps.policy()).toEqual({ ttps: [F('a'), F('b'), F('c')], k: 3 });
    expect((await ttps.entries()).map((e) => e.fingerprint)).toEqual([F('a'), F('b')]);
  });

  it('a stored value that is not a policy is refused, not read as none', async () => {
    const value = memoryValue();
    await value.put({ ttps: [F('a'), F('b')], k: 1 });
    await expect((await setting(value)).policy()).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('the operations: schemas at the boundary (k > n/2 before any handler), and get/set through the handlers', async () => {
    const request = OPERATIONS['settings.setTtpPolicy'].request;
    expect(request.safeParse({ policy: { ttps: [F('a'), F('b')], k: 1 } }).success).toBe(false);
    expect(request.safeParse({ policy: { ttps: [F('a'), F('b')], k: 2 } }).success).toBe(true);
    expect(request.safeParse({ policy: null }).success).toBe(true);
    expect(request.safeParse({}).success).toBe(false);
    expect(OperationMessage.safeParse({ op: 'settings.getTtpPolicy', request: {} }).success).toBe(true);
    const ctx = { ttps: await setting() } as unknown as OperationContext;
    expect(await settingsHandlers['settings.getTtpPolicy']({}, ctx)).toEqual({ policy: null });
    expect(await settingsHandlers['settings.setTtpPolicy']({ policy: { ttps: [F('c'), F('a')], k: 2 } }, ctx)).toEqual({
      policy: { ttps: [F('c'), F('a')], k: 2 },
    });
    expect(await settingsHandlers['settings.getTtpPolicy']({}, ctx)).toEqual({ policy: { ttps: [F('c'), F('a')], k: 2 } });
  });
});
