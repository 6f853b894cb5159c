/** Golden measurement profiles: format, loading, learning and merging. */
export * from './schema.ts';
export * from './errors.ts';
export * from './load.ts';
export * from './learn.ts';
export * from './merge.ts';
export { profileJsonSchema, profileJsonSchemaText } from './json-schema.ts';
