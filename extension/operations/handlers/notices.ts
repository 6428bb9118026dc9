/** Operations on the notices (extension/notices): requests that failed before any trusted window. */
import { noticesOf } from '../../notices/notices.js';
import type { Handlers } from '../context.js';

export const noticeHandlers: Handlers<'notices.list' | 'notices.read'> = {
  async 'notices.list'(_r, { store, identity }) {
    return noticesOf(await store.listAll(), await identity.noticesSeenAt());
  },
  async 'notices.read'(_r, { identity, now, onNoticesRead }) {
    await identity.markNoticesSeen(now());
    onNoticesRead?.();
    return { unseen: 0 };
  },
};
