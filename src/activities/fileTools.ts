/**
 * The file tools a model calls (read_file, write_file, edit_file, list_files, search_text, run_command), executed
 * against one workspace root.
 *
 * Contract: a bad call (schema error, path outside the workspace, missing file, an edit string not found or not
 * unique, a refused or failing command) is the model's problem, not the system's: it comes back as
 * `{ isError: true, content: <what went wrong and how to fix it> }` so the model can correct itself. Only system
 * faults (the workspace itself is gone, an unexpected I/O error) and cancellation are thrown. Every result passes
 * through redact(). `summary` is a short label safe to keep in workflow history; `content` is not (it goes to the
 * transcript store).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { z } from 'zod';
import { ErrorType, TypedFailure } from '../shared/errors';
import { fileToolSchemas, isFileTool, type FileToolName } from '../shared/tools';
import { commandRefusal, runCommand, scrubbedEnv, type CommandPolicy } from './commandRunner';
import { readConfined, writeConfined } from './confinedFile';
import { relativePosix, resolveInside } from './paths';
import { redact } from '../node/redact';
import { gitListFiles } from './workspace';

export interface FileToolContext {
  /** The workspace root; every path is confined to it. */
  root: string;
  policy: CommandPolicy;
  heartbeat?: () => void;
  signal?: AbortSignal;
  /** Where run_command appends its full output. */
  logFile?: string;
  /** How long search_text's regular expression may run; default 15 s. */
  searchTimeoutMs?: number;
}

export interface FileToolResult {
  content: string;
  isError: boolean;
  /** Short, history-safe label: `write src/x.ts`, `run npm test (exit 0)`. */
  summary: string;
  /** Workspace-relative path written by write_file / edit_file. */
  touched?: string;
}

export const READ_MAX_BYTES = 256 * 1024;
export const READ_DEFAULT_LINES = 2000;
const READ_MAX_FILE_BYTES = 20 * 1024 * 1024;
const LINE_MAX_CHARS = 2000;
const LIST_MAX_ENTRIES = 1000;
const WALK_MAX_ENTRIES = 50_000;
const SEARCH_DEFAULT_RESULTS = 100;
const SEARCH_MAX_FILE_BYTES = 2 * 1024 * 1024;
const SEARCH_TIMEOUT_MS = 15_000;
const COMMAND_OUTPUT_CHARS = 32 * 1024;
const SKIP_DIRS = new Set(['.git', 'node_modules']);

type Input<N extends FileToolName> = z.infer<(typeof fileToolSchemas)[N]>;

/** A failure the model caused and can fix; becomes an isError result. */
class ToolError extends Error {}

/** Make a model-supplied string safe and short for a summary. */
function label(text: string, max = 80): string {
  const clean = [...redact(text)].map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? '?' : c)).join('');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export async function executeFileTool(ctx: FileToolContext, name: FileToolName, rawInput: unknown): Promise<FileToolResult> {
  if (!isFileTool(name)) {
    return { content: `Unknown file tool ${label(String(name))}.`, isError: true, summary: `${label(String(name), 40)} (unknown tool)` };
  }
  const parsed = fileToolSchemas[name].safeParse(rawInput);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
    return { content: redact(`Invalid input for ${name}: ${issues}`), isError: true, summary: `${name} (invalid input)` };
  }
  const verb = VERBS[name];
  const target = describeTarget(name, parsed.data);
  try {
    const result = await run(ctx, name, parsed.data);
    return { ...result, content: redact(result.content), summary: label(result.summary, 120) };
  } catch (err) {
    if (ctx.signal?.aborted) throw ctx.signal.reason ?? err;
    const message = modelFacingError(err);
    if (message === undefined) throw err;
    return { content: redact(message), isError: true, summary: label(`${verb} ${target} (error)`, 120) };
  }
}

const VERBS: Record<FileToolName, string> = {
  read_file: 'read',
  write_file: 'write',
  edit_file: 'edit',
  list_files: 'list',
  search_text: 'search',
  run_command: 'run',
};

function describeTarget(name: FileToolName, input: Input<FileToolName>): string {
  if (name === 'run_command') return (input as Input<'run_command'>).argv.join(' ');
  if (name === 'search_text') return `/${(input as Input<'search_text'>).pattern}/`;
  return (input as { path?: string }).path ?? '.';
}

/** The message shown to the model for a failure it can act on; undefined for system faults (rethrown). */
function modelFacingError(err: unknown): string | undefined {
  if (err instanceof ToolError) return err.message;
  if (err instanceof TypedFailure) {
    const ours = [ErrorType.PathOutsideWorkspace, ErrorType.InvalidToolInput, ErrorType.CommandNotAllowed] as string[];
    return ours.includes(err.type) ? `Refused: ${err.message}` : undefined;
  }
  const code = errnoCode(err);
  const known: Record<string, string> = {
    ENOENT: 'no such file or directory',
    ENOTDIR: 'a component of the path is not a directory',
    EISDIR: 'is a directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EEXIST: 'already exists',
    ENAMETOOLONG: 'name too long',
  };
  return code && known[code] ? `Error: ${known[code]}` : undefined;
}

async function run(ctx: FileToolContext, name: FileToolName, input: Input<FileToolName>): Promise<FileToolResult> {
  switch (name) {
    case 'read_file':
      return readFile(ctx, input as Input<'read_file'>);
    case 'write_file':
      return writeFile(ctx, input as Input<'write_file'>);
    case 'edit_file':
      return editFile(ctx, input as Input<'edit_file'>);
    case 'list_files':
      return listFiles(ctx, input as Input<'list_files'>);
    case 'search_text':
      return searchText(ctx, input as Input<'search_text'>);
    case 'run_command':
      return runCommandTool(ctx, input as Input<'run_command'>);
  }
}

function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

async function readFile(ctx: FileToolContext, input: Input<'read_file'>): Promise<FileToolResult> {
  const abs = resolveInside(ctx.root, input.path, 'read');
  const rel = relativePosix(ctx.root, abs);
  const summary = `read ${rel}`;
  // Opened and checked by descriptor (confinedFile.ts): no swapped-in symlink, no hard link shared with outside.
  let got: ReturnType<typeof readConfined>;
  try {
    got = readConfined(fs.realpathSync(ctx.root), abs, input.path, READ_MAX_FILE_BYTES);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new ToolError(`No such file: ${input.path}. Use list_files to see what exists.`);
    throw err;
  }
  if ('directory' in got) throw new ToolError(`${input.path} is a directory; use list_files to see its contents.`);
  if ('tooLarge' in got) throw new ToolError(`${input.path} is too large to read (${got.tooLarge} bytes); use search_text.`);
  const buf = got;
  if (isBinary(buf)) throw new ToolError(`${input.path} is a binary file (${buf.length} bytes); it cannot be shown as text.`);
  const text = buf.toString('utf8');
  if (text.length === 0) return { content: '(empty file)', isError: false, summary };
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  const offset = input.offset ?? 0;
  const limit = input.limit ?? READ_DEFAULT_LINES;
  if (offset >= lines.length) {
    throw new ToolError(`offset ${offset} is past the end of ${input.path}, which has ${lines.length} lines (offsets start at 0).`);
  }
  const out: string[] = [];
  let bytes = 0;
  let next = offset;
  const width = String(Math.min(lines.length, offset + limit)).length;
  while (next < lines.length && next < offset + limit) {
    const raw = lines[next];
    const line = raw.length > LINE_MAX_CHARS ? `${raw.slice(0, LINE_MAX_CHARS)} [… ${raw.length - LINE_MAX_CHARS} more characters]` : raw;
    const entry = `${String(next + 1).padStart(width)}\t${line}`;
    if (out.length > 0 && bytes + entry.length + 1 > READ_MAX_BYTES) break;
    out.push(entry);
    bytes += entry.length + 1;
    next++;
  }
  if (next < lines.length) {
    out.push(`[lines ${offset + 1}-${next} of ${lines.length} shown (numbered from 1); to read on, call read_file with offset=${next}]`);
  }
  return { content: out.join('\n'), isError: false, summary };
}

async function writeFile(ctx: FileToolContext, input: Input<'write_file'>): Promise<FileToolResult> {
  const abs = resolveInside(ctx.root, input.path, 'write');
  const rel = relativePosix(ctx.root, abs);
  const existing = await fs.promises.stat(abs).catch(() => undefined);
  if (existing?.isDirectory()) throw new ToolError(`${input.path} is a directory; give a file path.`);
  const { existed } = writeConfined(fs.realpathSync(ctx.root), abs, input.path, input.content);
  const bytes = Buffer.byteLength(input.content);
  return { content: `${existed ? 'Overwrote' : 'Created'} ${rel} (${bytes} bytes).`, isError: false, summary: `write ${rel}`, touched: rel };
}

function countOccurrences(haystack: string, needle: string): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) count++;
  return count;
}

async function editFile(ctx: FileToolContext, input: Input<'edit_file'>): Promise<FileToolResult> {
  const abs = resolveInside(ctx.root, input.path, 'write');
  const rel = relativePosix(ctx.root, abs);
  const realRoot = fs.realpathSync(ctx.root);
  let got: ReturnType<typeof readConfined>;
  try {
    got = readConfined(realRoot, abs, input.path, READ_MAX_FILE_BYTES);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new ToolError(`No such file: ${input.path}. Use write_file to create a file.`);
    throw err;
  }
  if ('directory' in got) throw new ToolError(`${input.path} is a directory; give a file path.`);
  if ('tooLarge' in got) throw new ToolError(`${input.path} is too large to edit (${got.tooLarge} bytes).`);
  const text = got.toString('utf8');
  const count = countOccurrences(text, input.old_string);
  if (count === 0) {
    throw new ToolError(`old_string was not found in ${rel}. It must match the file exactly, including whitespace and indentation; read_file shows the current text.`);
  }
  if (count > 1 && !input.replace_all) {
    throw new ToolError(`old_string occurs ${count} times in ${rel}. Include more surrounding text to make it unique, or set replace_all: true.`);
  }
  // split/join and slicing, not String.replace: the replacement must not interpret `$&` and friends.
  const updated = input.replace_all
    ? text.split(input.old_string).join(input.new_string)
    : text.slice(0, text.indexOf(input.old_string)) + input.new_string + text.slice(text.indexOf(input.old_string) + input.old_string.length);
  writeConfined(realRoot, abs, input.path, updated);
  const replaced = input.replace_all ? count : 1;
  return { content: `Edited ${rel}: replaced ${replaced} occurrence${replaced === 1 ? '' : 's'}.`, isError: false, summary: `edit ${rel}`, touched: rel };
}

/** Files under `abs` (a directory inside the root), relative to the root: git's view when possible, else a walk. */
async function filesUnder(root: string, abs: string): Promise<string[]> {
  const realRoot = fs.realpathSync(root);
  const sub = relativePosix(realRoot, abs);
  const fromGit = await gitListFiles(realRoot, sub);
  if (fromGit) return fromGit;
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.promises.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (found.length >= WALK_MAX_ENTRIES) return;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) await walk(full);
      } else {
        found.push(relativePosix(realRoot, full));
      }
    }
  };
  await walk(abs);
  return found;
}

async function listFiles(ctx: FileToolContext, input: Input<'list_files'>): Promise<FileToolResult> {
  const abs = resolveInside(ctx.root, input.path ?? '.', 'read');
  const rel = relativePosix(ctx.root, abs);
  const stat = await fs.promises.stat(abs).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') throw new ToolError(`No such directory: ${input.path}.`);
    throw err;
  });
  if (!stat.isDirectory()) throw new ToolError(`${input.path} is a file, not a directory; use read_file.`);
  const files = await filesUnder(ctx.root, abs);
  const shown = files.slice(0, LIST_MAX_ENTRIES);
  if (files.length > shown.length) shown.push(`[… ${files.length - shown.length} more files; list a subdirectory to see them]`);
  return { content: files.length === 0 ? '(no files)' : shown.join('\n'), isError: false, summary: `list ${rel}` };
}

async function searchText(ctx: FileToolContext, input: Input<'search_text'>): Promise<FileToolResult> {
  try {
    new RegExp(input.pattern);
  } catch (err) {
    throw new ToolError(`Invalid regular expression: ${(err as Error).message}`);
  }
  const abs = resolveInside(ctx.root, input.path ?? '.', 'read');
  const rel = relativePosix(ctx.root, abs);
  const summary = `search /${label(input.pattern, 40)}/ in ${rel}`;
  const stat = await fs.promises.stat(abs).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') throw new ToolError(`No such file or directory: ${input.path}.`);
    throw err;
  });
  const files = stat.isDirectory() ? await filesUnder(ctx.root, abs) : [rel];
  const maxResults = input.max_results ?? SEARCH_DEFAULT_RESULTS;
  const timeoutMs = ctx.searchTimeoutMs ?? SEARCH_TIMEOUT_MS;
  const found = await searchInWorker(fs.realpathSync(ctx.root), files, input.pattern, maxResults, timeoutMs, ctx.signal);
  if (found === 'timeout') {
    throw new ToolError(`search_text gave up after ${timeoutMs / 1000} s; use a simpler pattern or a narrower path.`);
  }
  const lines = [...found.results];
  if (found.truncated) lines.push(`[stopped at ${maxResults} matches; narrow the pattern or the path, or raise max_results]`);
  return { content: lines.length === 0 ? 'No matches.' : lines.join('\n'), isError: false, summary };
}

/**
 * The regular expression is the model's, so it may backtrack catastrophically. It runs in a worker thread that is
 * terminated after a timeout (15 s by default), so it can never block the worker's event loop (and with it heartbeats).
 * Symlinks are not followed (a tracked symlink could point outside the workspace).
 */
const SEARCH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { root, files, pattern, maxResults, maxFileBytes, maxLineChars } = workerData;
const re = new RegExp(pattern);
const results = [];
let truncated = false;
outer: for (const rel of files) {
  let buf;
  try {
    const st = fs.lstatSync(path.join(root, rel));
    // A hard link may share its content with a file outside the workspace: skipped, as read_file refuses it.
    if (!st.isFile() || st.size > maxFileBytes || st.nlink > 1) continue;
    buf = fs.readFileSync(path.join(root, rel));
  } catch (err) {
    continue;
  }
  if (buf.subarray(0, 8000).includes(0)) continue;
  const lines = buf.toString('utf8').split('\\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].length > maxLineChars ? lines[i].slice(0, maxLineChars) : lines[i];
    if (re.test(line)) {
      if (results.length >= maxResults) { truncated = true; break outer; }
      const shown = line.length > 300 ? line.slice(0, 300) + ' […]' : line;
      results.push(rel + ':' + (i + 1) + ': ' + shown);
    }
  }
}
parentPort.postMessage({ results, truncated });
`;

function searchInWorker(
  root: string,
  files: string[],
  pattern: string,
  maxResults: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ results: string[]; truncated: boolean } | 'timeout'> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SEARCH_WORKER, {
      eval: true,
      workerData: { root, files, pattern, maxResults, maxFileBytes: SEARCH_MAX_FILE_BYTES, maxLineChars: LINE_MAX_CHARS },
    });
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const timer = setTimeout(() => finish(() => {
      void worker.terminate();
      resolve('timeout');
    }), timeoutMs);
    const onAbort = (): void => finish(() => {
      void worker.terminate();
      reject(signal?.reason ?? new Error('cancelled'));
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (msg: { results: string[]; truncated: boolean }) => finish(() => {
      void worker.terminate();
      resolve(msg);
    }));
    worker.once('error', (err) => finish(() => reject(err)));
  });
}

async function runCommandTool(ctx: FileToolContext, input: Input<'run_command'>): Promise<FileToolResult> {
  const shown = label(input.argv.join(' '), 60);
  const refusal = commandRefusal(ctx.policy, input.argv);
  if (refusal) {
    return { content: `Refused: ${refusal}.`, isError: true, summary: `run ${shown} (refused)` };
  }
  const timeoutMs = Math.min(input.timeout_seconds !== undefined ? input.timeout_seconds * 1000 : ctx.policy.timeoutMs, ctx.policy.timeoutMs);
  const result = await runCommand({
    argv: input.argv,
    cwd: fs.realpathSync(ctx.root),
    env: scrubbedEnv(ctx.policy.env),
    timeoutMs,
    logFile: ctx.logFile,
    heartbeat: ctx.heartbeat,
    signal: ctx.signal,
    maxOutputBytes: COMMAND_OUTPUT_CHARS,
    guardRepo: ctx.root,
  });
  if (result.cancelled) throw ctx.signal?.reason ?? new Error('run_command cancelled');
  const status = result.timedOut
    ? `timed out after ${Math.round(timeoutMs / 1000)} s (process group killed)`
    : result.exitCode === null
      ? `killed by ${result.signal}`
      : `exit ${result.exitCode}`;
  const body = result.output.length > 0 ? result.output : '(no output)';
  return {
    content: `[${status}]\n${body}`,
    isError: result.exitCode !== 0,
    summary: `run ${shown} (${status.startsWith('exit') ? status : result.timedOut ? 'timed out' : status})`,
  };
}
