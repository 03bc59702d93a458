/**
 * Twilio's OpenAPI specs as the referee: loads them from the npm package that ships them
 * (@twilio-alpha/mcp, pinned), turns OpenAPI 3.0 schemas into strict JSON Schema
 * (nullable → type union, additionalProperties: false so misspelt or extra fields fail),
 * and compiles validators with ajv.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';

const require = createRequire(import.meta.url);
const specDir = join(dirname(require.resolve('@twilio-alpha/mcp/package.json')), 'twilio-oai', 'spec', 'json');

type Schema = Record<string, any>;

export function loadSpec(file: string): Schema {
  return JSON.parse(readFileSync(join(specDir, file), 'utf8')) as Schema;
}

function toJsonSchema(schema: Schema, components: Schema, seen = new Set<string>()): Schema {
  if (schema.$ref) {
    const name = String(schema.$ref).replace('#/components/schemas/', '');
    if (seen.has(name)) return {};
    return toJsonSchema(components[name], components, new Set([...seen, name]));
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'nullable' || key.startsWith('x-') || key === 'description' || key === 'example') continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, toJsonSchema(v as Schema, components, seen)]));
    } else if (key === 'items') {
      out.items = toJsonSchema(value as Schema, components, seen);
    } else {
      out[key] = value;
    }
  }
  if (out.properties) out.additionalProperties = false;
  if (schema.nullable) {
    if (out.type) out.type = [out.type, 'null'];
    if (out.enum) out.enum = [...out.enum, null];
  }
  return out;
}

const RFC2822 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$/;

export function createValidator(spec: Schema) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time-rfc-2822', RFC2822);
  ajv.addFormat('phone-number', /^(whatsapp:)?\+?[0-9A-Za-z]*$/);
  ajv.addFormat('currency', /^[A-Z]{3}$/);
  ajv.addFormat('uri-map', () => true);
  // 2010-04-01 paging URIs are relative, which JSON Schema's "uri" format would refuse.
  ajv.addFormat('uri', /^(https?:\/\/|\/)\S*$/);
  ajv.addFormat('date-time', (v: string) => !Number.isNaN(Date.parse(v)));
  const components = spec.components.schemas as Schema;

  const cache = new Map<string, ReturnType<Ajv['compile']>>();
  const compile = (key: string, schema: Schema) => {
    let validate = cache.get(key);
    if (!validate) {
      validate = ajv.compile(toJsonSchema(schema, components));
      cache.set(key, validate);
    }
    return validate;
  };

  /** Errors (empty when valid) of `body` against a named component schema. */
  const component = (name: string, body: unknown): string[] => {
    const validate = compile(`component:${name}`, { $ref: `#/components/schemas/${name}` });
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  };

  /** Errors of `body` against the response schema of an operation in the spec. */
  const response = (path: string, method: string, status: string, body: unknown): string[] => {
    const schema = spec.paths[path]?.[method]?.responses?.[status]?.content?.['application/json']?.schema;
    if (!schema) return [`no schema for ${method.toUpperCase()} ${path} ${status}`];
    const validate = compile(`${method} ${path} ${status}`, schema);
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  };

  return { component, response };
}

/** Twilio's error body, as its docs and every SDK read it. */
export const errorBodySchema = {
  type: 'object',
  required: ['code', 'message', 'more_info', 'status'],
  additionalProperties: false,
  properties: {
    code: { type: 'integer' },
    message: { type: 'string' },
    more_info: { type: 'string', pattern: '^https://www\\.twilio\\.com/docs/errors/\\d+$' },
    status: { type: 'integer' },
  },
};
