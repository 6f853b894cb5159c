/** A golden profile that cannot be used, naming the file, the JSON path inside it and the problem. */
export interface ProfileIssue {
  /** JSONPath-like location inside the document, e.g. "$.secureBoot.db.certificates[0].sha256". */
  path: string;
  problem: string;
}

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  readonly path: string;
  readonly problem: string;
  constructor(
    /** File (or other source label) the profile came from. */
    readonly source: string,
    readonly issues: ProfileIssue[],
  ) {
    const first = issues[0] ?? { path: '$', problem: 'invalid profile' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more: ${issues.slice(1, 4).map((i) => `${i.path}: ${i.problem}`).join('; ')})` : '';
    super(`golden profile ${source}: ${first.path}: ${first.problem}${more}`);
    this.path = first.path;
    this.problem = first.problem;
  }
}

export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p)) out += `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}
