/**
 * The shopper's settings as pages see them (`settings.get`) and when the notices were last read:
 * what the service worker's start script answers without the identity service (issue 13, worker
 * start: extension/worker/background.ts). IdentityService answers with the same functions.
 */
import type { Money } from '../../core/protocol/commerce.js';
import { tokenRpIdFor } from '../../core/protocol/extension-id.js';
import type { SettingsRecords, SettingsView, ShopperSettings } from './service.js';

export const DEFAULT_CA_URL = 'http://127.0.0.1:8450';
/** Orders above 100.00 EUR need a hardware token with user verification unless the shopper changes it. */
export const DEFAULT_HARDWARE_TOKEN_ABOVE: Money = { amount: 10_000, currency: 'EUR' };

/** Firefox: the RP ID set, else the one tied to the CA (its domain; loopback → localhost). */
export function tokenRpIdOf(settings: ShopperSettings): string | undefined {
  return settings.tokenRpId ?? tokenRpIdFor(settings.caUrl ?? DEFAULT_CA_URL);
}

/** The settings as pages see them: defaults filled in; the Firefox RP ID only in Firefox. */
export function settingsViewOf(settings: ShopperSettings, firefox: boolean): SettingsView {
  return {
    hardwareTokenAbove: settings.hardwareTokenAbove === undefined ? DEFAULT_HARDWARE_TOKEN_ABOVE : settings.hardwareTokenAbove,
    caUrl: settings.caUrl ?? DEFAULT_CA_URL,
    ...(firefox ? { tokenRpId: tokenRpIdOf(settings) ?? null } : {}),
  };
}

/** The settings record read for a view: one read, no key or token. */
export class SettingsReader {
  constructor(
    private readonly records: SettingsRecords,
    private readonly firefox: boolean,
  ) {}

  /** What `settings.get` answers. */
  async settingsView(): Promise<SettingsView> {
    return settingsViewOf(await this.records.get(), this.firefox);
  }

  /** When the shopper last read the notices (0: never). */
  async noticesSeenAt(): Promise<number> {
    return (await this.records.get()).noticesSeenAt ?? 0;
  }
}
