/**
 * The trusted window the worker shows a deal in, as kept in session storage across worker restarts
 * (trusted-window-manager.ts writes it through main.ts). The start script (background.ts) reads it
 * to tell whether a closed window was that one.
 */
import { z } from '../../core/zod.js';
import { browser } from '../browser.js';

const SESSION_KEY = 'trustedWindow';
const CurrentWindowRecord = z.object({ dealId: z.string(), windowId: z.number(), queued: z.optional(z.array(z.string())), result: z.optional(z.boolean()) });
export type CurrentWindowRecord = z.infer<typeof CurrentWindowRecord>;

export async function readTrustedWindowSession(): Promise<CurrentWindowRecord | undefined> {
  return CurrentWindowRecord.safeParse((await browser.storage.session.get(SESSION_KEY))[SESSION_KEY]).data;
}

export async function writeTrustedWindowSession(value: CurrentWindowRecord | undefined): Promise<void> {
  if (value) await browser.storage.session.set({ [SESSION_KEY]: value });
  else await browser.storage.session.remove(SESSION_KEY);
}
