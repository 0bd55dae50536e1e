/**
 * spec-kit task ids: `T001`, and the suffixed forms people insert later (`T022.5`, `T001a`, `T008b`) or number
 * hierarchically (`T1.1.1`). Ids compare by their numbers part by part, then by the letter suffix: T022 < T022.5 <
 * T022a < T023. `T12` and `T012` are the same id for references.
 */
export const ID = String.raw`T\d+(?:\.\d+)*[a-z]?`;
export const ID_RANGE = String.raw`${ID}(?:\s*(?:-|–|—|to)\s*${ID})?`;
export const ID_LIST = String.raw`${ID_RANGE}(?:\s*(?:,|&|/|\band\b|\bor\b)\s*${ID_RANGE})*`;

export interface IdKey {
  parts: number[];
  suffix: string;
}

export function idKey(id: string): IdKey {
  const m = /^T(\d+(?:\.\d+)*)([a-z]?)$/i.exec(id);
  if (!m) return { parts: [Number.MAX_SAFE_INTEGER], suffix: id };
  return { parts: m[1].split('.').map(Number), suffix: m[2].toLowerCase() };
}

export function compareIds(a: string, b: string): number {
  const ka = idKey(a);
  const kb = idKey(b);
  for (let i = 0; i < Math.max(ka.parts.length, kb.parts.length); i++) {
    const d = (ka.parts[i] ?? -1) - (kb.parts[i] ?? -1);
    if (d !== 0) return d;
  }
  return ka.suffix < kb.suffix ? -1 : ka.suffix > kb.suffix ? 1 : 0;
}

/** `T012` → `12`, `T022.5` → `22.5`, `T001a` → `1a`: the same string for every spelling of one id. */
export function normalId(id: string): string {
  const k = idKey(id);
  return `${k.parts.join('.')}${k.suffix}`;
}

/** Every id in `text` (`T001, T003`, `T004-T007`), ranges expanded over `known` ids by their first number. */
export function idsIn(text: string, known: readonly string[]): { ids: string[]; unknown: string[] } {
  const ids: string[] = [];
  const unknown: string[] = [];
  const byNormal = new Map<string, string>();
  for (const k of known) if (!byNormal.has(normalId(k))) byNormal.set(normalId(k), k);
  for (const part of text.matchAll(new RegExp(String.raw`(${ID})(?:\s*(?:-|–|—|to)\s*(${ID}))?`, 'g'))) {
    if (part[2] === undefined) {
      const id = byNormal.get(normalId(part[1]));
      if (id) ids.push(id);
      else unknown.push(part[1]);
      continue;
    }
    const [lo, hi] = [idKey(part[1]).parts[0], idKey(part[2]).parts[0]].sort((a, b) => a - b);
    const inRange = known.filter((k) => idKey(k).parts[0] >= lo && idKey(k).parts[0] <= hi);
    if (inRange.length === 0) unknown.push(part[0]);
    ids.push(...inRange);
  }
  return { ids, unknown };
}
