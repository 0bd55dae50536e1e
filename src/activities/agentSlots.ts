/**
 * Placement capacity (docs/hosts.md, "Placement"): how many agents this host runs at once (`cadre worker
 * --max-agents N`, CADRE_MAX_AGENTS). The host's placement worker polls the shared placement queue through the
 * slot supplier below, which hands out a slot only while the agent workspaces living on this host plus the slots
 * already handed out stay under the cap: a full host does not even ask for work, so a workspace waits on the queue
 * until some host has room, and no host ever takes more than its cap.
 *
 * What counts is the workspaces this process created and has not removed yet (by path, so a retried creation
 * counts once). A restarted worker starts from zero: the workspaces its predecessor left are not counted until
 * their agents come back through here (documented in docs/hosts.md).
 */
import type { CustomSlotSupplier, SlotPermit } from '@temporalio/worker';

export class AgentSlots {
  private readonly live = new Set<string>();
  private permits = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  /** A workspace now lives on this host (idempotent on its path). */
  hold(path: string): void {
    this.live.add(path);
  }

  /** A workspace was removed: its agent's slot is free again. */
  free(path: string): void {
    if (this.live.delete(path)) this.wake();
  }

  get used(): number {
    return this.live.size;
  }

  private hasRoom(): boolean {
    return this.live.size + this.permits < this.max;
  }

  private wake(): void {
    while (this.waiting.length && this.hasRoom()) this.waiting.shift()!();
  }

  /** The placement worker's activity slot supplier. */
  supplier(): CustomSlotSupplier<never> {
    const take = (): SlotPermit => {
      this.permits++;
      return {};
    };
    return {
      type: 'custom',
      reserveSlot: (_ctx, abort) =>
        new Promise<SlotPermit>((resolve, reject) => {
          const grant = (): void => {
            abort.removeEventListener('abort', onAbort);
            resolve(take());
          };
          const onAbort = (): void => {
            const i = this.waiting.indexOf(grant);
            if (i >= 0) this.waiting.splice(i, 1);
            reject(Object.assign(new Error('slot reservation aborted'), { name: 'AbortError' }));
          };
          if (this.hasRoom()) return resolve(take());
          abort.addEventListener('abort', onAbort);
          this.waiting.push(grant);
        }),
      tryReserveSlot: () => (this.hasRoom() ? take() : null),
      markSlotUsed: () => undefined,
      releaseSlot: () => {
        this.permits--;
        this.wake();
      },
    };
  }
}
