/**
 * The JSON Schema committed as golden-measurements/profile.schema.json, generated from the zod
 * schema. Regenerate with: node --import tsx src/golden/json-schema.ts > golden-measurements/profile.schema.json
 */
import { z } from 'zod';
import { ProfileSchema } from './schema.ts';

export function profileJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(ProfileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...s, $id: 'https://bootgate.invalid/golden-measurements/profile.schema.json', title: 'bootgate golden profile' };
}

export function profileJsonSchemaText(): string {
  return `${JSON.stringify(profileJsonSchema(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(profileJsonSchemaText());
}
