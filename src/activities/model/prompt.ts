/**
 * The words cadre puts around the model's work: the system prompt and the text parts of user messages.
 *
 * The system prompt must be identical on every turn of an agent (it is part of the cached prefix), so it depends
 * only on the agent's stable inputs (its tools and `system` text), never on the turn, the time or the budget.
 */
import type { ToolName } from '../../shared/tools';
import type { TextBlock } from './backend';

export function systemPrompt(tools: readonly ToolName[], extra?: string): string {
  const has = (name: ToolName): boolean => tools.includes(name);
  const lines = [
    'You are a software engineering agent run by cadre. You work in your own git worktree (your workspace) of the ' +
      "project's repository; other agents may work in parallel in their own worktrees.",
    'Act through the tools you are given. Paths are relative to the workspace root; you cannot reach outside it.',
    'Keep each step small and check your work (read files back, run the tests) before you declare it done.',
  ];
  if (has('spawn_agent')) {
    lines.push(
      'You may split the work: spawn_agent starts a sub-agent on a well-delimited part, with a slice of your budget; ' +
        'wait_for_agents merges its work into yours. Give each sub-agent disjoint files.',
    );
  }
  if (has('finish')) {
    lines.push('When the task is complete, call finish with a short summary. Your changes are committed for you.');
  }
  const base = lines.join('\n');
  return extra && extra.trim() !== '' ? `${base}\n\n${extra.trim()}` : base;
}

/** The inbox as one text block, or nothing when it is empty. */
export function inboxBlock(inbox: readonly string[] | undefined): TextBlock[] {
  if (!inbox || inbox.length === 0) return [];
  const lines = inbox.map((m) => `- ${m}`);
  return [{ type: 'text', text: `Messages received since your last turn:\n${lines.join('\n')}` }];
}

export function goalBlock(goal: string): TextBlock {
  return { type: 'text', text: goal.trim() === '' ? '(no goal given)' : goal };
}

/** Sent when a turn has nothing else to say (the previous reply used no tool and no message arrived). */
export function continueText(tools: readonly ToolName[]): string {
  return tools.includes('finish')
    ? 'Continue with the task. When it is complete, call finish with a short summary.'
    : 'Continue with the task.';
}
