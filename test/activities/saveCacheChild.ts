/**
 * A process that saves one dependency-cache entry (the cross-process race in depCache.test.ts). It waits until the
 * file named by `go` exists, so that the racing processes start their copies together, then prints the result.
 * Usage: tsx saveCacheChild.ts <json: { root, worktree, cache, go }>
 */
import * as fs from 'node:fs';
import { saveCache, sparesSettled, type ResolvedCache } from '../../src/activities/depCache';

const { root, worktree, cache, go } = JSON.parse(process.argv[2]!) as { root: string; worktree: string; cache: ResolvedCache; go: string };

async function main(): Promise<void> {
  while (!fs.existsSync(go)) await new Promise((r) => setTimeout(r, 5));
  const result = await saveCache(root, worktree, cache);
  await sparesSettled();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
