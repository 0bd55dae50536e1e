/**
 * A partial run written to the docs (`--only … --write-docs`): the sections it did not run are carried over from
 * the docs' previous results, each marked with the run it came from (`meta.carried`), so the page keeps every
 * section and says which figures are older. A section carried once keeps its original origin.
 */
interface ResultsLike {
  meta: { commit: string; date: string; carried?: Record<string, { commit: string; date: string }> } & Record<string, unknown>;
  timing: Record<string, unknown>;
  sections: Record<string, unknown>;
}

export function carryOver<T extends ResultsLike>(results: T, previous: ResultsLike | undefined): T {
  if (!previous?.sections) return results;
  const carried: Record<string, { commit: string; date: string }> = {};
  const sections = { ...results.sections };
  const timing = { ...results.timing };
  for (const [name, section] of Object.entries(previous.sections)) {
    if (name in sections) continue;
    sections[name] = section;
    if (previous.timing?.[name] !== undefined) timing[name] = previous.timing[name];
    carried[name] = previous.meta.carried?.[name] ?? { commit: previous.meta.commit, date: previous.meta.date };
  }
  return { ...results, meta: { ...results.meta, carried }, timing, sections };
}
