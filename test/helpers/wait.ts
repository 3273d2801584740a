/**
 * Waits for a condition that another process or a background worker brings about (a job
 * picked up by a polling worker), checking every 50 ms, up to `timeoutMs`. Not for moving
 * time: that is the clock's job.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
