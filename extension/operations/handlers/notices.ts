/** Operations on the notices (extension/notices): requests that failed before any trusted window (listed in start.ts). */
import type { Handlers } from '../context.js';

export const noticeHandlers: Handlers<'notices.read'> = {
  async 'notices.read'(_r, { identity, now, onNoticesRead }) {
    await identity.markNoticesSeen(now());
    onNoticesRead?.();
    return { unseen: 0 };
  },
};
