/**
 * Hosts (docs/hosts.md): the names both sides agree on. A worker with a host identity polls the shared task queue
 * (workflows and work that can run anywhere), its host queue `<taskQueue>@<host>` (everything that touches that
 * host's worktrees or state directory) and, for runs through a remote, the placement queue `<taskQueue>@placement`
 * (workspace creation, polled only while the host has room for another agent). These strings live in history (as
 * activities' task queues), so they never change.
 */

/** A host name: what `CADRE_HOST` accepts, and what a task queue name can carry. */
export const HOST_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The patch of workflows that route worktree activities to their owner's host queue. */
export const HOST_ROUTING = 'host-routing';

export function hostQueue(taskQueue: string, host: string): string {
  return `${taskQueue}@${host}`;
}

export function placementQueue(taskQueue: string): string {
  return `${taskQueue}@placement`;
}

/**
 * A host name from `os.hostname()`-like text: characters a task queue name should not carry become `-`, and an
 * empty result becomes `localhost`.
 */
export function hostNameOf(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);
  return cleaned || 'localhost';
}

/**
 * Whether a run's repository is a remote that every host clones (docs/hosts.md, "The remote") rather than a
 * checkout on this machine: a URL (`ssh://`, `https://`, `file://` …), an scp-like address (`git@host:path`) or
 * a path that ends in `.git` (a bare repository). A plain string test, so workflows can ask it too.
 */
export function isRemoteRepo(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/\s@]+@[^/\s:]+:/.test(repo) || /\.git\/?$/.test(repo);
}
