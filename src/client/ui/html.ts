/**
 * HTML for the dashboard, escaped by construction: `html` is a tagged template that escapes every interpolated
 * value unless it is itself `Html` (made by `html` or `raw`). Task titles, agent output and error messages come from
 * plan files and from agents, which are untrusted: none of it is ever concatenated into markup unescaped.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in element content and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

type Part = Html | string | number | boolean | undefined | null | Part[];

function render(v: Part): string {
  if (v === undefined || v === null || v === false) return '';
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(v);
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new Html(out);
}

/** Markup this module's callers built themselves (never text from a run). */
export const raw = (text: string) => new Html(text);

/** A JSON value inside a `<script>`: `<`, `>` and `&` escaped so no string in it can close the element. */
export function scriptJson(value: unknown): Html {
  return new Html(JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
