/**
 * Campaign message templates: `{{name}}` placeholders (spaces inside the braces allowed,
 * `{{ first_name }}`). Rendering is pure and total: it yields the text, or every variable
 * the row lacks, so a row is judged once at import and never half-rendered at send time.
 */

/** A placeholder: a name of letters, digits, `_`, `-` or `.` between double braces. */
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

export type RenderResult = { ok: true; text: string } | { ok: false; missing: string[] };

/** The variable names a template uses, each once, in order of first use. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/**
 * Fills every placeholder from `variables`. A variable that is absent or blank is missing:
 * a message that says "Hi , your order" is worse than no message.
 */
export function render(template: string, variables: Readonly<Record<string, string>>): RenderResult {
  const missing = templateVariables(template).filter((name) => !hasValue(variables, name));
  if (missing.length > 0) return { ok: false, missing };
  return { ok: true, text: template.replace(PLACEHOLDER, (_, name: string) => variables[name]!) };
}

function hasValue(variables: Readonly<Record<string, string>>, name: string): boolean {
  return Object.hasOwn(variables, name) && typeof variables[name] === 'string' && variables[name]!.trim() !== '';
}

/** The reason stored on a row that cannot be rendered ("missing variable first_name"). */
export function missingReason(missing: readonly string[]): string {
  return `missing variable${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`;
}
