/**
 * Helpers of the port-lease tests: a port base of their own, programs that serve on or print their ports, and the
 * port lock manager's holders as seen by its query.
 */
import type { Client } from '@temporalio/client';
import { lockWorkflowId, locksQuery } from '../../src/shared/locks';
import { portLockKey, type PortConfig } from '../../src/shared/ports';

/** A base no other test uses, with room for a few blocks of 10. */
export function portsFor(blocks: number): PortConfig {
  return { base: 22000 + Math.floor(Math.random() * 1000) * 10, block: 10, blocks };
}

/**
 * Serves on $PORT, writes `<dir>/up-<PORT>.json` (its variables), waits until `want` servers are up (so they run at
 * the same time), then asks its own server over HTTP and exits 0 only if the answer is its own.
 */
export const SERVE_AND_TEST = `
const fs = require('node:fs'); const http = require('node:http'); const path = require('node:path');
const [dir, want] = [process.argv[1], Number(process.argv[2])];
const me = { CADRE_PORT: process.env.CADRE_PORT, PORT: process.env.PORT, CADRE_PORT_RANGE: process.env.CADRE_PORT_RANGE };
const server = http.createServer((req, res) => res.end('hello from ' + process.env.PORT));
server.on('error', (e) => { console.error('listen failed: ' + e.message); process.exit(3); });
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  fs.writeFileSync(path.join(dir, 'up-' + process.env.PORT + '.json'), JSON.stringify(me));
  const wait = () => fs.readdirSync(dir).filter((f) => f.startsWith('up-')).length >= want ? test() : setTimeout(wait, 50);
  wait();
});
function test() {
  http.get('http://127.0.0.1:' + process.env.PORT + '/', (res) => {
    let body = ''; res.on('data', (c) => (body += c));
    res.on('end', () => { console.log(body); server.close(); process.exit(body === 'hello from ' + process.env.PORT ? 0 : 4); });
  }).on('error', (e) => { console.error(e.message); process.exit(5); });
}`;

/** Writes its port variables to `<file>`. */
export const DUMP_ENV = `require('node:fs').writeFileSync(process.argv[1], JSON.stringify({ CADRE_PORT: process.env.CADRE_PORT, PORT: process.env.PORT, CADRE_PORT_RANGE: process.env.CADRE_PORT_RANGE }))`;

export async function portHolders(client: Client, host: string, taskQueue: string): Promise<string[]> {
  const view = await client.workflow.getHandle(lockWorkflowId(portLockKey(host, taskQueue))).query(locksQuery);
  return view.holders.flatMap((h) => h.paths);
}

/** The port lock manager has processed the agents' releases (a release is delivered before the agent ends). */
export async function untilNoHolders(client: Client, host: string, taskQueue: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await portHolders(client, host, taskQueue)).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port blocks of ${host} still held: ${(await portHolders(client, host, taskQueue)).join(', ')}`);
}
