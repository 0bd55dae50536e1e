/**
 * What a Temporal cluster must offer before cadre can use it (docs/cluster.md): the namespace, and cadre's search
 * attributes with their types. The embedded dev server registers them when it starts; on a cluster someone with
 * operator rights registers them once per namespace — `cadre cluster setup`, or the `temporal`/`tcld` commands printed
 * here. Without them every run fails at its first start with an INVALID_ARGUMENT from the server.
 */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { searchAttributeFlags } from '../shared/searchAttributes';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

/** `Keyword` → INDEXED_VALUE_TYPE_KEYWORD, as the operator API spells the type. */
function indexedType(flag: string): number {
  const t = (IndexedValueType as unknown as Record<string, number>)[`INDEXED_VALUE_TYPE_${flag.toUpperCase()}`];
  if (t === undefined) throw new Error(`unknown search attribute type ${flag}`);
  return t;
}

function flagOf(type: number): string {
  const name = (IndexedValueType as unknown as Record<number, string>)[type] ?? 'UNKNOWN';
  const word = name.replace(/^INDEXED_VALUE_TYPE_/, '').toLowerCase();
  return word.charAt(0).toUpperCase() + word.slice(1);
}

export interface AttributeProblem {
  name: string;
  /** The type cadre needs (`Keyword`, `Int`, `Double`). */
  type: string;
  /** The type the namespace has under that name, when it has a different one. */
  found?: string;
}

/** cadre's search attributes the namespace lacks or holds with another type; empty when all are in place. */
export async function searchAttributeProblems(connection: Connection, namespace: string): Promise<AttributeProblem[]> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const have = { ...(listed.systemAttributes ?? {}), ...(listed.customAttributes ?? {}) } as Record<string, number>;
  const problems: AttributeProblem[] = [];
  for (const [name, type] of Object.entries(searchAttributeFlags)) {
    const found = have[name];
    if (found === undefined) problems.push({ name, type });
    else if (found !== indexedType(type)) problems.push({ name, type, found: flagOf(found) });
  }
  return problems;
}

/** Register the missing ones (self-hosted clusters; Temporal Cloud takes them through `tcld` or its web console). */
export async function registerSearchAttributes(connection: Connection, namespace: string, problems: AttributeProblem[]): Promise<void> {
  const missing = problems.filter((p) => p.found === undefined);
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((p) => [p.name, indexedType(p.type)])),
  });
}

/** The commands an operator runs to register what is missing, for a self-hosted cluster and for Temporal Cloud. */
export function registrationCommands(namespace: string, problems: AttributeProblem[]): string[] {
  const missing = problems.filter((p) => p.found === undefined);
  if (missing.length === 0) return [];
  const names = missing.map((p) => `--name ${p.name} --type ${p.type}`).join(' ');
  return [
    `temporal operator search-attribute create --namespace ${namespace} ${names}`,
    `tcld namespace search-attributes add --namespace ${namespace} ${missing.map((p) => `--search-attribute "${p.name}=${p.type}"`).join(' ')}`,
  ];
}

/** One line per problem, then how to fix it: what `cadre cluster check` and a refusing worker print. */
export function describeProblems(namespace: string, problems: AttributeProblem[]): string {
  const lines = problems.map((p) =>
    p.found ? `  ${p.name}: registered as ${p.found}, cadre needs ${p.type} (rename or remove it on the cluster)` : `  ${p.name} (${p.type}): missing`,
  );
  const fix = registrationCommands(namespace, problems);
  return [
    `namespace "${namespace}" lacks cadre's search attributes:`,
    ...lines,
    ...(fix.length ? ['register them with `cadre cluster setup` (needs operator rights), or:', ...fix.map((c) => `  ${c}`)] : []),
  ].join('\n');
}

/**
 * Refuse to serve a namespace that lacks cadre's search attributes (a worker there would only see every run fail at
 * its start). A server that will not list them (an API key without that permission) is given the benefit of the
 * doubt: the check is skipped, and a missing attribute still shows at the first run's start.
 */
export async function problemsBeforeServing(connection: Connection, namespace: string): Promise<string | undefined> {
  let problems: AttributeProblem[];
  try {
    problems = await searchAttributeProblems(connection, namespace);
  } catch {
    return undefined;
  }
  return problems.length ? describeProblems(namespace, problems) : undefined;
}
