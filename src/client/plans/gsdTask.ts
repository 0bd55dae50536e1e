/**
 * One GSD plan → one task: prompt, files, outputs, checks, verify, gate. Keeps what the plan means to its author:
 * `must_haves.truths` and `key_links` go into the prompt; artifacts' `contains`/`exports` and key links' `pattern`
 * become machine checks; `<verify><automated>` commands become the task's `verify`; a `checkpoint:*` task makes
 * the task wait for a person's approval; `type: tdd` is kept.
 */
import * as path from 'node:path';
import type { Check, TaskInput } from '../../shared/plan';
import type { IssueList } from './errors';
import { isPathLike, repoPath, unique } from './fields';
import type { GsdPlan } from './gsd';
import { compact } from './native';
import { isRecord } from './yamlSource';

/** Inner text of every `<tag …>…</tag>` block, with the whole block text. */
export function blocks(body: string, tag: string): { attrs: string; inner: string; whole: string }[] {
  const re = new RegExp(`<${tag}\\b([^>]*)>([\\s\\S]*?)</${tag}>`, 'g');
  return [...body.matchAll(re)].map((m) => ({ attrs: m[1], inner: m[2], whole: m[0] }));
}

const unescapeXml = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(/[,\n]/).map((s) => s.trim()).filter(Boolean) : []);
const attr = (attrs: string, name: string): string | undefined => new RegExp(`\\b${name}\\s*=\\s*["']([^"']*)["']`).exec(attrs)?.[1];

export function gsdTask(p: GsdPlan, dependsOn: string[], rootDir: string, issues: IssueList): TaskInput {
  const fm = p.fm;
  const line = (...keys: (string | number)[]): number | undefined => p.src?.lineOf(keys);
  const files: string[] = [];
  for (const key of ['files_modified', 'files-modified']) {
    for (const raw of list(fm[key])) {
      const rp = repoPath(raw.replace(/^`|`$/g, ''));
      if (rp) files.push(rp);
      else issues.add(p.file, line(key), `plan "${p.id}": "${raw}" in ${key} is not a repository-relative path`, [p.id]);
    }
  }

  const objective = blocks(p.body, 'objective')[0];
  const taskBlocks = [...blocks(p.body, 'task'), ...blocks(p.body, 'feature')].sort((a, b) => p.body.indexOf(a.whole) - p.body.indexOf(b.whole));
  for (const t of taskBlocks) {
    const filesTag = blocks(t.inner, 'files')[0];
    if (filesTag) for (const f of filesTag.inner.split(/[,\n]/)) {
      const rp = repoPath(f.replace(/`/g, '').replace(/^\s*[-*]\s+/, ''));
      if (rp && !/\s/.test(rp)) files.push(rp);
    }
  }

  const outputs: string[] = [];
  const checks: Check[] = [];
  const mustHaves = isRecord(fm.must_haves) ? fm.must_haves : undefined;
  const artifacts = Array.isArray(mustHaves?.artifacts) ? mustHaves.artifacts : [];
  artifacts.forEach((a, i) => {
    const raw = isRecord(a) ? a.path : a;
    const rp = typeof raw === 'string' ? repoPath(raw) : undefined;
    if (!rp) {
      issues.add(p.file, line('must_haves', 'artifacts', i), `plan "${p.id}": must_haves.artifacts[${i}] has no repository-relative "path"`, [p.id]);
      return;
    }
    outputs.push(rp);
    if (!isRecord(a)) return;
    for (const text of list(a.contains)) checks.push({ kind: 'contains', path: rp, text });
    for (const name of list(a.exports)) checks.push({ kind: 'exports', path: rp, name });
  });
  const keyLinks = Array.isArray(mustHaves?.key_links) ? mustHaves.key_links.filter(isRecord) : [];
  keyLinks.forEach((k, i) => {
    if (typeof k.pattern !== 'string' || k.pattern === '') return;
    const from = typeof k.from === 'string' ? k.from.trim().split(/\s+/)[0].replace(/^`|`$/g, '') : '';
    const rp = isPathLike(from) ? repoPath(from) : undefined;
    const where = line('must_haves', 'key_links', i);
    if (!rp) {
      issues.warn(p.file, where, `plan "${p.id}": key_links[${i}] pattern is not checked: "from" is not a file path`, [p.id]);
      return;
    }
    try {
      new RegExp(k.pattern, 'm');
      checks.push({ kind: 'pattern', path: rp, regex: k.pattern });
    } catch {
      issues.warn(p.file, where, `plan "${p.id}": key_links[${i}] pattern ${JSON.stringify(k.pattern)} is not a valid regular expression; not checked`, [p.id]);
    }
  });

  // <verify><automated>cmd</automated></verify>: the plan's own commands (trusted like a native plan's verify).
  const automated = taskBlocks
    .flatMap((t) => blocks(t.inner, 'verify').flatMap((v) => blocks(v.inner, 'automated')))
    .map((a) => unescapeXml(a.inner).trim())
    .filter((c) => c !== '' && !/^MISSING\b/i.test(c));
  const verify = automated.length === 0 ? undefined : ['sh', '-c', automated.length === 1 ? automated[0] : automated.map((c) => `(${c})`).join(' && ')];

  const checkpointBlocks = taskBlocks.filter((t) => attr(t.attrs, 'type')?.startsWith('checkpoint'));
  const checkpoints = unique(checkpointBlocks.map((t) => attr(t.attrs, 'type')!));
  const gatePrompt = checkpointBlocks
    .map((t) => {
      const part = (tag: string) => blocks(t.inner, tag)[0]?.inner.trim();
      const what = part('what-built') ?? part('name') ?? part('action');
      const how = part('how-to-verify');
      return [`${attr(t.attrs, 'type')}: ${what ?? `plan ${p.id}`}`, how ? `How to verify:\n${how}` : ''].filter(Boolean).join('\n');
    })
    .join('\n\n');

  const tdd = fm.type === 'tdd' || taskBlocks.some((t) => attr(t.attrs, 'tdd') === 'true' || attr(t.attrs, 'type') === 'tdd');

  const success = blocks(p.body, 'success_criteria')[0];
  const found = [objective?.whole, ...taskBlocks.map((t) => t.whole), success?.whole].filter((s): s is string => !!s);
  const sections = found.length > 0 ? found : [p.body.trim()];
  const mustHavesText = mustHavesSection(mustHaves);
  if (mustHavesText) sections.push(mustHavesText);
  if (tdd) sections.push('<tdd>\nThis plan is test-driven: write the failing test first, make it pass, then refactor.\n</tdd>');
  const prompt = sections.join('\n\n').trim();

  const firstTaskName = taskBlocks.map((t) => blocks(t.inner, 'name')[0]?.inner.trim()).find(Boolean);
  const objectiveLine = objective?.inner.split('\n').map((l) => l.trim()).find((l) => l !== '');
  let title = objectiveLine ?? firstTaskName ?? `GSD plan ${p.id}`;
  if (title.length > 200) title = `${title.slice(0, 197)}...`;

  const fmPhase = fm.phase === undefined || fm.phase === null ? undefined : String(fm.phase);
  return compact({
    id: p.id,
    title,
    prompt: prompt === '' ? title : prompt,
    dependsOn,
    phase: p.phase.inPhasesDir ? p.phase.name : (fmPhase ?? p.phase.name),
    files: unique(files),
    outputs: unique(outputs),
    done: p.done,
    checkpoint: checkpoints.length > 0 ? checkpoints.join(', ') : undefined,
    gate: checkpoints.length > 0 ? { kind: 'approval' as const, prompt: gatePrompt.slice(0, 2000) } : undefined,
    checks: checks.length > 0 ? checks : undefined,
    verify,
    tdd: tdd || undefined,
    source: { file: path.relative(rootDir, p.file).split(path.sep).join('/'), line: 1 },
  });
}

/** must_haves.truths and key_links as a prompt section: what the author will check, so the agent knows it. */
function mustHavesSection(mh: Record<string, unknown> | undefined): string | undefined {
  if (!mh) return undefined;
  const truths = list(mh.truths);
  const links = (Array.isArray(mh.key_links) ? mh.key_links : []).filter(isRecord).map((k) => {
    const via = typeof k.via === 'string' ? ` via ${k.via}` : '';
    const pattern = typeof k.pattern === 'string' ? ` (pattern: ${k.pattern})` : '';
    return `- ${String(k.from ?? '?')} -> ${String(k.to ?? '?')}${via}${pattern}`;
  });
  if (truths.length === 0 && links.length === 0) return undefined;
  const out = ['<must_haves>'];
  if (truths.length > 0) out.push('Truths (each must hold when you finish):', ...truths.map((t) => `- ${t}`));
  if (links.length > 0) out.push('Key links (each must exist in the code):', ...links);
  out.push('</must_haves>');
  return out.join('\n');
}
