/**
 * The tool definitions sent to the model, derived from the zod schemas in src/shared/tools.ts so the JSON Schema the
 * model sees and the validation its calls go through never drift apart.
 *
 * Order is canonical (file tools, then orchestration tools, each in declaration order) whatever order the agent's
 * tool list has: the tool block is the start of the cached prompt prefix, so it must be byte-identical turn after
 * turn.
 */
import { z } from 'zod';
import {
  fileToolSchemas,
  isFileTool,
  orchestrationToolSchemas,
  toolDescriptions,
  type ToolName,
} from '../../shared/tools';

export interface ToolDefinition {
  name: ToolName;
  description: string;
  input_schema: { type: 'object'; [key: string]: unknown };
}

const canonicalOrder: ToolName[] = [
  ...(Object.keys(fileToolSchemas) as ToolName[]),
  ...(Object.keys(orchestrationToolSchemas) as ToolName[]),
];

/** The agent's tools in canonical order, without duplicates or unknown names. */
export function canonicalTools(tools: readonly string[]): ToolName[] {
  const wanted = new Set(tools);
  return canonicalOrder.filter((name) => wanted.has(name));
}

export function toolSchema(name: ToolName): z.ZodType {
  return isFileTool(name) ? fileToolSchemas[name] : orchestrationToolSchemas[name];
}

const definitionCache = new Map<ToolName, ToolDefinition>();

export function toolDefinition(name: ToolName): ToolDefinition {
  let def = definitionCache.get(name);
  if (!def) {
    const { $schema: _drop, ...schema } = z.toJSONSchema(toolSchema(name)) as Record<string, unknown>;
    def = { name, description: toolDescriptions[name], input_schema: { ...schema, type: 'object' } };
    definitionCache.set(name, def);
  }
  return def;
}

export function toolDefinitions(tools: readonly string[]): ToolDefinition[] {
  return canonicalTools(tools).map(toolDefinition);
}
