/**
 * The idempotency key of an orchestration tool call: `<session id>/<tool>/<hash of its input>#<n>`, where n counts
 * the calls with that tool and input whose answer was already delivered to the program (persisted in the session
 * record across attempts).
 *
 * Why not the program's own tool-call id: a session resumed after its worker died re-decides an unanswered call,
 * and the model then emits a new tool-call id for the same call. What stays the same is the session, the tool and
 * the input. Counting only delivered answers gives exactly the wanted semantics:
 * - a call that reached the workflow but whose answer the program never got (the crash window) is repeated after
 *   resume with the same id, so the workflow returns its first answer instead of spawning or charging twice;
 * - a call repeated on purpose after its answer was seen (a second `wait_for_agents`) gets a new id.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so the same input always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function callKey(name: string, input: unknown): string {
  return `${name}/${createHash('sha256').update(canonicalJson(input)).digest('hex').slice(0, 16)}`;
}

/**
 * Hands out call ids for one session. `answered` is the persisted count of delivered answers per call key; ids are
 * handed out in call order, and calls still waiting for their answer are counted too, so two concurrent identical
 * calls get distinct ids.
 */
export class CallIds {
  private readonly inFlight = new Map<string, number>();
  constructor(
    private readonly sessionId: () => string,
    private readonly answered: Record<string, number>,
    private readonly onAnswered: (answered: Record<string, number>) => void,
  ) {}

  begin(name: string, input: unknown): { callId: string; done: () => void } {
    const key = callKey(name, input);
    const flying = this.inFlight.get(key) ?? 0;
    const n = (this.answered[key] ?? 0) + flying + 1;
    this.inFlight.set(key, flying + 1);
    let finished = false;
    return {
      callId: `${this.sessionId()}/${key}#${n}`,
      done: () => {
        if (finished) return;
        finished = true;
        this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
        this.answered[key] = (this.answered[key] ?? 0) + 1;
        this.onAnswered(this.answered);
      },
    };
  }
}
