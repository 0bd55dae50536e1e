/**
 * The schema of a workspace's ports (`PortLease`, ./ports.ts) as activities receive them: kept apart from ./ports.ts,
 * which workflows import, because workflow code loads no zod when it starts (test/lint/workflowImports.test.ts).
 */
import { z } from 'zod';
import type { PortLease } from './ports';

export const portLeaseSchema: z.ZodType<PortLease, PortLease> = z.object({
  first: z.number().int().min(1).max(65535),
  count: z.number().int().min(1).max(65535),
}).strict().refine((p) => p.first + p.count - 1 <= 65535, 'the range ends above port 65535');
