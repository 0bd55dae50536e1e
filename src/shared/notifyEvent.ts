/**
 * The schema of a notification event (./notify.ts): the `notify` activity checks every event with it. Apart from
 * ./notify.ts because workflow code loads no zod when it starts (test/lint/workflowImports.test.ts).
 */
import { z } from 'zod';
import { NOTIFY_KINDS } from './notify';

const amount = z.strictObject({ tokens: z.number().optional(), usd: z.number().optional() });

export const notifyEventSchema = z.strictObject({
  /** `<workflow id>/<kind>/<what>`: the same event always has the same id. */
  id: z.string().min(1).max(500),
  kind: z.enum(NOTIFY_KINDS),
  /** True for the kinds that are items of `cadre inbox` (they wait for a person). */
  inbox: z.boolean(),
  /** Workflow time the event happened (epoch ms). */
  at: z.number(),
  runId: z.string().optional(),
  taskId: z.string().optional(),
  agentId: z.string().optional(),
  /** One line. */
  summary: z.string().max(500),
  /** The command that answers an inbox item. */
  command: z.string().max(500).optional(),
  /** run-ended: how it ended. */
  status: z.string().optional(),
  /** run-ended: the run's totals. */
  totals: z.strictObject({ costUsd: z.number(), tokens: z.number(), counts: z.record(z.string(), z.number()) }).optional(),
  /** budget-alert: the threshold crossed (percent) and the budget it is of; budget: the amount asked. */
  threshold: z.number().optional(),
  budget: amount.optional(),
  amount: amount.optional(),
});
export type NotifyEvent = z.infer<typeof notifyEventSchema>;
