/** Polling in tests: wait for a value a real workflow or process produces, without a timed assertion. */

/** `get()` until it gives a value (every 50 ms, at most 1,200 tries: 60 s of waiting), else an error naming `what`. */
export async function until<T>(what: string, get: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const v = await get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}
