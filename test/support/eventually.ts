/**
 * Checks again every 25 ms until `check` holds, for a state a test can observe but not subscribe to
 * (a gauge, a readiness answer). No deadline of its own: the test's timeout bounds the wait, so a
 * busy machine makes it slower, never wrong.
 */
export async function eventually(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 25));
}
