/**
 * The operator's answers to messages, pure: a reply to a message to the operator, or dismissing a dead letter,
 * takes it out of the lists the inbox reads (the run's, or a standalone root agent's). The answered ids are kept so
 * a repeated answer says so, and a repeated signal of the same message does not bring it back.
 */
import type { AgentMessage, DeadLetter } from '../shared/messages';

export interface Answerable {
  deadLetters: DeadLetter[];
  toOperator: AgentMessage[];
  answered: string[];
}

/** Answered ids remembered (the oldest go first): far more than an inbox holds at once. */
const KEEP = 1000;

export function answerProblem(s: Answerable, id: string): string | undefined {
  if (typeof id !== 'string' || !id) return 'a message id is needed';
  if (s.answered.includes(id) || s.toOperator.some((m) => m.id === id) || s.deadLetters.some((d) => d.message.id === id)) return undefined;
  return `no message "${id}" waits for an answer here`;
}

export function answer(s: Answerable, id: string): string {
  const before = s.toOperator.length + s.deadLetters.length;
  s.toOperator = s.toOperator.filter((m) => m.id !== id);
  s.deadLetters = s.deadLetters.filter((d) => d.message.id !== id);
  if (before === s.toOperator.length + s.deadLetters.length) return `${id} was answered already`;
  s.answered.push(id);
  if (s.answered.length > KEEP) s.answered.splice(0, s.answered.length - KEEP);
  return `${id} answered: it left the inbox`;
}
