/**
 * cadre's custom search attributes: registered on the embedded dev server at start, kept current by the workflows,
 * so the Web UI can filter runs by run, task, phase, role, depth, status and budget used.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CadreRun = defineSearchAttributeKey('CadreRun', SearchAttributeType.KEYWORD);
export const CadreTask = defineSearchAttributeKey('CadreTask', SearchAttributeType.KEYWORD);
export const CadrePhase = defineSearchAttributeKey('CadrePhase', SearchAttributeType.KEYWORD);
export const CadreRole = defineSearchAttributeKey('CadreRole', SearchAttributeType.KEYWORD);
export const CadreDepth = defineSearchAttributeKey('CadreDepth', SearchAttributeType.INT);
export const CadreStatus = defineSearchAttributeKey('CadreStatus', SearchAttributeType.KEYWORD);
export const CadreBudgetUsed = defineSearchAttributeKey('CadreBudgetUsed', SearchAttributeType.DOUBLE);

/** Name → type as the `temporal server start-dev --search-attribute` flag spells it. */
export const searchAttributeFlags: Record<string, string> = {
  CadreRun: 'Keyword',
  CadreTask: 'Keyword',
  CadrePhase: 'Keyword',
  CadreRole: 'Keyword',
  CadreDepth: 'Int',
  CadreStatus: 'Keyword',
  CadreBudgetUsed: 'Double',
};
