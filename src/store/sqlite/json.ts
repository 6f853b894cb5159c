/** JSON columns: written by this process, so a parse failure means a corrupted database, not hostile input. */
export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function optionalJson<T>(text: string | null): T | undefined {
  return text === null ? undefined : parseJson<T>(text);
}
