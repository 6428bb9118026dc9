/**
 * Translation and formatting for the extension's pages (English, German) through browser.i18n,
 * whose language follows the browser's UI language.
 */
import type { Money } from '../../core/protocol/commerce.js';
import type { ShopperPhase } from '../../core/commerce/shopper.js';
import { browser } from '../browser.js';

export type MessageKey = keyof typeof import('../../_locales/en/messages.json');

export function t(key: MessageKey, ...substitutions: string[]): string {
  return browser.i18n.getMessage(key, substitutions) || key;
}

/** The locale the messages are shown in (so numbers and dates match the text), as a BCP 47 tag. */
export function uiLocale(): string {
  // Each messages file names its own language (localeTag): Chromium's @@ui_locale can differ from
  // the language the messages were picked in (e.g. 'en_US' while --lang=de shows German text).
  const locale = browser.i18n.getMessage('localeTag') || browser.i18n.getMessage('@@ui_locale') || browser.i18n.getUILanguage() || 'en';
  return locale.replace(/_/g, '-');
}

/** Money is an integer of minor units; the currency says how many digits that is. */
export function formatMoney(money: Money, locale = uiLocale()): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency: money.currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(money.amount / 10 ** digits);
}

export function formatDateTime(iso: string, locale = uiLocale()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

const STATUS_KEYS: Record<ShopperPhase, MessageKey> = {
  'requesting-offer': 'statusRequestingOffer',
  'awaiting-confirmation': 'statusAwaitingConfirmation',
  ordering: 'statusOrdering',
  completed: 'statusCompleted',
  rejected: 'statusRejected',
  failed: 'statusFailed',
  'retrying-order': 'statusRetryingOrder',
  'delivery-mismatch': 'statusDeliveryMismatch',
};

export function statusLabel(status: ShopperPhase): string {
  return t(STATUS_KEYS[status]);
}

export function paymentMethodLabel(method: string): string {
  return method === 'invoice' ? t('paymentInvoice') : method;
}

/** Set the document's language and title from the UI locale. */
export function localiseDocument(titleKey: MessageKey): void {
  document.documentElement.lang = uiLocale();
  document.title = t(titleKey);
}
