/**
 * The identity of a failing host's drift: its profile, what changed since its last passing boot
 * (by PCR, component, event type, kind of change and digests: never event indexes or data, which
 * differ between hosts with the same change) and the failure codes that accepting new values
 * cannot cure. Hosts with the same identity form one drift group, whose id is a hash of it: the
 * same on every replica and across restarts.
 */
import { createHash } from 'node:crypto';
import type { BootChange } from './diff.ts';
import type { FailureCode } from './codes.ts';

/** Failure codes that say "this value is not in the profile": a new profile version can allow it. */
export const ACCEPTABLE_CODES: ReadonlySet<string> = new Set<FailureCode>([
  'crtm_version_not_allowed',
  'firmware_not_allowed',
  'boot_config_not_allowed',
  'driver_not_allowed',
  'bootloader_not_allowed',
  'kernel_not_allowed',
  'initrd_not_allowed',
  'grub_command_not_allowed',
  'cmdline_not_allowed',
  'secure_boot_pk_not_allowed',
  'secure_boot_kek_not_allowed',
  'secure_boot_db_not_allowed',
  'secure_boot_authority_not_allowed',
  'event_not_allowed',
]);

/** The failure codes (sorted, once each) that no accepted change can cure. */
export function blockingCodes(failures: readonly { code: string }[]): string[] {
  return [...new Set(failures.map((f) => f.code).filter((c) => !ACCEPTABLE_CODES.has(c)))].sort();
}

type ChangeTuple = [number, string, string, string, string | null, string | null];

function tuple(c: BootChange): ChangeTuple {
  return [c.pcr, c.component, c.eventType, c.change, c.before?.digest ?? null, c.after?.digest ?? null];
}

function compareTuples(x: ChangeTuple, y: ChangeTuple): number {
  for (let i = 0; i < x.length; i++) {
    const a = x[i] ?? '';
    const b = y[i] ?? '';
    if (a !== b) return typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : 1;
  }
  return 0;
}

/** The canonical text of a drift identity: what the group id hashes. */
export function canonicalChangeSet(profileName: string | null, bank: string | null, changes: readonly BootChange[], blockers: readonly string[]): string {
  return JSON.stringify({
    v: 1,
    profile: profileName,
    bank,
    changes: changes.map(tuple).sort(compareTuples),
    blockers: [...new Set(blockers)].sort(),
  });
}

/** 32 hex digits of SHA-256 over the canonical change set. */
export function changeSetId(profileName: string | null, bank: string | null, changes: readonly BootChange[], blockers: readonly string[]): string {
  return createHash('sha256').update(canonicalChangeSet(profileName, bank, changes, blockers)).digest('hex').slice(0, 32);
}
