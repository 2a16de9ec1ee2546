import type { Clock } from '../domain/clock.js';

/** The first instant of year 10000: from there on `toISOString` switches to its six-digit year form. */
const END_OF_FOUR_DIGIT_YEARS = 253_402_300_800_000;

/**
 * `new Date(clock()).toISOString()` for a clock read on every log line: the text up to the
 * second is formatted once per second and only the milliseconds are added to it, since
 * building a Date and formatting it was a measurable share of writing a line. Times before
 * 1970 or past year 9999 (and invalid ones, which throw) take the Date path every time.
 */
export function isoTimeSource(clock: Clock): () => string {
  let second = Number.NaN;
  let upToSecond = '';
  let lastMs = Number.NaN;
  let last = '';
  return () => {
    const now = clock();
    if (!(now >= 0 && now < END_OF_FOUR_DIGIT_YEARS)) return new Date(now).toISOString();
    // A Date keeps whole milliseconds, dropping the fraction (toward zero, so down for these times).
    const ms = Math.floor(now);
    if (ms === lastMs) return last;
    const thisSecond = Math.floor(ms / 1000);
    if (thisSecond !== second) {
      second = thisSecond;
      upToSecond = new Date(thisSecond * 1000).toISOString().slice(0, 20);
    }
    const fraction = ms - thisSecond * 1000;
    lastMs = ms;
    last = `${upToSecond}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
    return last;
  };
}
