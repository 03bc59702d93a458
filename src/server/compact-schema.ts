/**
 * Tool schemas without the `$schema` dialect line zod adds to each of them: 36 copies
 * of the same URL are ~500 tokens of every tools/list an agent pays for. MCP already
 * fixes the dialect (JSON Schema 2020-12), so dropping it changes no meaning. Validation
 * still runs through the original schema.
 */
import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';

type JsonSchemaFn = (options: { target: string }) => Record<string, unknown>;

function withoutDialect(fn: JsonSchemaFn): JsonSchemaFn {
  return (options) => {
    const { $schema: _dialect, ...rest } = fn(options);
    return rest;
  };
}

export function compactSchema<S extends StandardSchemaWithJSON>(schema: S): S {
  const standard = schema['~standard'] as S['~standard'] & { jsonSchema?: { input: JsonSchemaFn; output: JsonSchemaFn } };
  if (!standard.jsonSchema) return schema;
  const jsonSchema = { input: withoutDialect(standard.jsonSchema.input), output: withoutDialect(standard.jsonSchema.output) };
  return { '~standard': { ...standard, jsonSchema } } as unknown as S;
}
