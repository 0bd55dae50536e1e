/**
 * Content sniffing for files not named by convention (`plan.txt`, a seed file, a PLAN.md renamed): which format the
 * text is, from what it contains, never from its extension.
 */
import type { PlanFormat } from '../../shared/plan';
import { looksLikeSpeckit } from './speckit';
import { findFrontMatter } from './yamlSource';
import { isRecord, parseYaml } from './yamlSource';

const GSD_KEYS = /^(?:phase|plan|wave|depends_on|must_haves|files_modified|files-modified)\s*:/m;
const GSD_BODY = /<(?:task|objective|tasks)\b[^>]*>/;

/** The format `text` is written in, or undefined when it is none of them. */
export function sniffText(text: string): PlanFormat | undefined {
  const fm = findFrontMatter(text);
  // A GSD SUMMARY.md has the same front matter keys but no <task>/<objective> blocks: it is not a plan.
  if (fm.frontMatter !== undefined && GSD_KEYS.test(fm.frontMatter) && GSD_BODY.test(fm.body)) return 'gsd';
  if (looksLikeSpeckit(text)) return 'speckit';
  const src = parseYaml(text);
  if (isRecord(src.data) && Array.isArray(src.data.tasks)) return 'native';
  return undefined;
}
