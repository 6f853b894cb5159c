/**
 * Merge two profiles of the same platform (e.g. learned on two hosts) into one that allows what
 * either allows: digest sets and allowed entries are unions; what must be present (required
 * separators, required dbx entries, Secure Boot required) is what both require. The version is bumped.
 */
import { unionEntries, unionStrings } from './entries.ts';
import { ProfileError } from './errors.ts';
import { parseProfile } from './load.ts';
import type { GoldenProfile, ProfileInput, SignatureSet } from './schema.ts';

/** "3" -> "4", "2024.06.1" -> "2024.06.2", "beta" -> "beta.1". */
export function bumpVersion(v: string): string {
  const m = /^(.*?)(\d+)$/.exec(v);
  if (m === null) return `${v}.1`;
  return `${m[1] ?? ''}${BigInt(m[2] ?? '0') + 1n}`;
}

function mergeSigSet(a: SignatureSet | undefined, b: SignatureSet | undefined): SignatureSet | undefined {
  if (a === undefined && b === undefined) return undefined;
  const out: SignatureSet = {};
  const certs = unionEntries(a?.certificates, b?.certificates);
  if (certs !== undefined) out.certificates = certs;
  const hashes = unionStrings(a?.hashes, b?.hashes);
  if (hashes !== undefined) out.hashes = hashes;
  return out;
}

function intersect<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): T[] | undefined {
  if (a === undefined) return b === undefined ? undefined : [...b];
  if (b === undefined) return [...a];
  return a.filter((x) => b.includes(x));
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function mergeProfiles(a: GoldenProfile, b: GoldenProfile): GoldenProfile {
  if (a.bank !== b.bank) {
    throw new ProfileError(`merge ${a.name}@${a.version} + ${b.name}@${b.version}`, [{ path: '$.bank', problem: `banks differ: ${a.bank} vs ${b.bank}` }]);
  }
  const sepDigests = a.separators !== undefined || b.separators !== undefined
    ? unionStrings(a.separators?.digests, b.separators?.digests)
    : undefined;
  const merged: ProfileInput = defined({
    $schema: a.$schema ?? b.$schema,
    name: a.name,
    version: bumpVersion(a.version),
    description: a.description ?? b.description,
    bank: a.bank,
    pcrs: [...new Set([...a.pcrs, ...b.pcrs])].sort((x, y) => x - y),
    crtmVersions: unionEntries(a.crtmVersions, b.crtmVersions),
    firmware: unionEntries(a.firmware, b.firmware),
    bootConfig:
      a.bootConfig === undefined && b.bootConfig === undefined
        ? undefined
        : defined({
            variables: unionEntries(a.bootConfig?.variables, b.bootConfig?.variables),
            bootOptions: unionEntries(a.bootConfig?.bootOptions, b.bootConfig?.bootOptions),
            events: unionEntries(a.bootConfig?.events, b.bootConfig?.events),
          }),
    drivers: unionEntries(a.drivers, b.drivers),
    secureBoot:
      a.secureBoot === undefined && b.secureBoot === undefined
        ? undefined
        : defined({
            required: (a.secureBoot?.required ?? true) && (b.secureBoot?.required ?? true),
            pk: mergeSigSet(a.secureBoot?.pk, b.secureBoot?.pk),
            kek: mergeSigSet(a.secureBoot?.kek, b.secureBoot?.kek),
            db: mergeSigSet(a.secureBoot?.db, b.secureBoot?.db),
            dbxRequired: intersect(a.secureBoot?.dbxRequired, b.secureBoot?.dbxRequired),
            authorities: unionEntries(a.secureBoot?.authorities, b.secureBoot?.authorities),
          }),
    bootChain:
      a.bootChain === undefined && b.bootChain === undefined
        ? undefined
        : defined({
            shim: unionEntries(a.bootChain?.shim, b.bootChain?.shim),
            bootloader: unionEntries(a.bootChain?.bootloader, b.bootChain?.bootloader),
            kernel: unionEntries(a.bootChain?.kernel, b.bootChain?.kernel),
          }),
    grubCommands: unionEntries(a.grubCommands, b.grubCommands),
    kernelCmdline: unionEntries(a.kernelCmdline, b.kernelCmdline),
    kernels: unionEntries(a.kernels, b.kernels),
    initrds: unionEntries(a.initrds, b.initrds),
    bootFiles: unionEntries(a.bootFiles, b.bootFiles),
    separators:
      a.separators === undefined && b.separators === undefined
        ? undefined
        : defined({ pcrs: intersect(a.separators?.pcrs, b.separators?.pcrs) ?? [], digests: sepDigests }),
    events: unionEntries(a.events, b.events),
    allowUnknownEvents: unionEntries(a.allowUnknownEvents, b.allowUnknownEvents),
  });
  return parseProfile(merged, `merge of ${a.name}@${a.version} and ${b.name}@${b.version}`);
}
