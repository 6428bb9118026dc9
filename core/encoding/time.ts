/**
 * Instants as Date.prototype.toISOString writes them (ECMAScript's Date Time String Format,
 * "YYYY-MM-DDTHH:mm:ss.sssZ", an RFC 3339 timestamp in UTC): what every statement's `issuedAt`
 * and an offer's `expiresAt` carry. V8 formats through its date cache (≈ 0.4 µs a call, and a
 * purchase writes several); the same text is a few integer divisions away for the years 0000–9999
 * (the civil-from-days conversion of the proleptic Gregorian calendar, H. Hinnant, "chrono-Compatible
 * Low-Level Date Algorithms"). Other years (toISOString's ±YYYYYY form) and invalid time values
 * (its RangeError) are toISOString's. test/core/encoding compares both on random instants.
 */
const DAY_MS = 86_400_000;
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
const FIRST = -62_167_219_200_000;
const LAST = 253_402_300_799_999;

const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

export function isoTime(ms: number): string {
  if (!(ms >= FIRST && ms <= LAST) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  // Days since 0000-03-01 in 400-year eras of 146,097 days; March first puts the leap day last.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const m5 = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * m5 + 2) / 5) + 1;
  const month = m5 < 10 ? m5 + 3 : m5 - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  const y = year < 10 ? `000${year}` : year < 100 ? `00${year}` : year < 1000 ? `0${year}` : `${year}`;
  const msText = millis < 10 ? `00${millis}` : millis < 100 ? `0${millis}` : `${millis}`;
  return `${y}-${two(month)}-${two(day)}T${two(hours)}:${two(minutes)}:${two(seconds)}.${msText}Z`;
}
