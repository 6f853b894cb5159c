/**
 * Release policy of a secret: which hosts, running which golden profiles, may receive it.
 *
 * Deny by default. A stored policy with neither list releases to nobody; an empty list matches
 * nobody. When both lists are given a host must satisfy both. A profile entry "name" admits any
 * version of that profile; "name@version" admits exactly that version.
 */
import { z } from 'zod';

const HOST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const PROFILE_NAME = '[A-Za-z0-9._:-]{1,128}';
const PROFILE_VERSION = '[A-Za-z0-9._:+-]{1,64}';
const PROFILE_ENTRY_RE = new RegExp(`^${PROFILE_NAME}(?:@${PROFILE_VERSION})?$`);

export const releasePolicySchema = z
  .object({
    hosts: z.array(z.string().regex(HOST_ID_RE, 'hostId must be 1-128 characters from [A-Za-z0-9._:-]')).max(10_000).optional(),
    profiles: z
      .array(z.string().regex(PROFILE_ENTRY_RE, 'profile must be "name" or "name@version"'))
      .max(1_000)
      .optional(),
  })
  .strict()
  .refine((p) => p.hosts !== undefined || p.profiles !== undefined, {
    message: 'a policy names hosts, profiles, or both; a policy with neither would release to nobody',
  });

export interface ReleasePolicy {
  hosts?: string[];
  profiles?: string[];
}

export type PolicyDecision = { ok: true } | { ok: false; reason: string };

export function evaluatePolicy(policy: ReleasePolicy, subject: { hostId: string; profile: string | null }): PolicyDecision {
  if (policy.hosts === undefined && policy.profiles === undefined) {
    return { ok: false, reason: 'the secret has no release policy, so it is released to nobody' };
  }
  if (policy.hosts !== undefined && !policy.hosts.includes(subject.hostId)) {
    return { ok: false, reason: `host ${subject.hostId} is not in the secret's hosts list` };
  }
  if (policy.profiles !== undefined) {
    const profile = subject.profile;
    if (profile === null || !policy.profiles.some((entry) => profileMatches(entry, profile))) {
      return { ok: false, reason: `profile ${profile ?? '(none)'} is not in the secret's profiles list` };
    }
  }
  return { ok: true };
}

function profileMatches(entry: string, profile: string): boolean {
  if (entry.includes('@')) return entry === profile;
  const at = profile.lastIndexOf('@');
  return (at < 0 ? profile : profile.slice(0, at)) === entry;
}
