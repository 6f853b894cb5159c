/**
 * The census of a profile (contract §6): every value the profile allows, by component, and which
 * of those values one boot used. Digests match by digest (the measured value, whichever event
 * carried it); command lines allowed by text match by the text of an event whose digest is the
 * hash of that text; Secure Boot database entries by certificate SHA-256 or hash.
 */
import { checkDigestConsistencyDetailed, dataVerified } from '../eventlog/consistency.ts';
import type { EventLog } from '../eventlog/types.ts';
import type { CertificateEntry, GoldenProfile, SignatureSet, TextMatch } from '../golden/schema.ts';
import { toHex } from '../util/encoding.ts';
import { classifyEvents, eventText, isMeasured } from './classify.ts';
import type { Component } from './component.ts';
import { describeTextMatch, textMatches } from './match.ts';
import { signatureEntries } from './rules-secureboot.ts';

export interface CensusValue {
  /** What the census answer shows: a digest, a certificate SHA-256 or hash, or an allowed text. */
  digest?: string;
  text?: string;
  /** Matches a boot's used values (usedValues). */
  key: string;
  /** For text values: whether a command line of the boot matches. */
  match?: TextMatch;
}

export interface CensusComponent {
  pcr: number | null;
  component: Component;
  values: CensusValue[];
}

type WithDigests = { digests?: string[] | undefined };

function digestValues(entries: readonly WithDigests[] | undefined): CensusValue[] {
  const seen = new Set<string>();
  const out: CensusValue[] = [];
  for (const e of entries ?? []) {
    for (const d of e.digests ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      out.push({ digest: d, key: `d:${d}` });
    }
  }
  return out;
}

function textValues(kind: 'cmdline' | 'grub', entries: readonly { text?: TextMatch | undefined; digests?: string[] | undefined }[] | undefined): CensusValue[] {
  const out = digestValues(entries);
  for (const e of entries ?? []) {
    if (e.text === undefined || e.digests !== undefined) continue;
    out.push({ text: describeTextMatch(e.text), key: `t:${kind}:${describeTextMatch(e.text)}`, match: e.text });
  }
  return out;
}

function signatureValues(db: string, set: SignatureSet | undefined): CensusValue[] {
  const certs = (set?.certificates ?? []).flatMap((c: CertificateEntry) => (c.sha256 !== undefined ? [c.sha256] : []));
  return [...new Set([...certs, ...(set?.hashes ?? [])])].map((id) => ({ digest: id, key: `s:${db}:${id}` }));
}

/** Every value the profile allows, component by component (components without values are left out). */
export function allowedValues(p: GoldenProfile): CensusComponent[] {
  const sb = p.secureBoot;
  const list: CensusComponent[] = [
    { pcr: 0, component: 'crtm_version', values: digestValues(p.crtmVersions) },
    { pcr: 0, component: 'firmware', values: digestValues(p.firmware) },
    { pcr: 1, component: 'boot_config', values: digestValues([...(p.bootConfig?.variables ?? []), ...(p.bootConfig?.events ?? [])]) },
    { pcr: 2, component: 'option_rom', values: digestValues(p.drivers) },
    { pcr: 4, component: 'shim', values: digestValues(p.bootChain?.shim) },
    { pcr: 4, component: 'bootloader', values: digestValues(p.bootChain?.bootloader) },
    { pcr: 4, component: 'kernel', values: digestValues(p.bootChain?.kernel) },
    { pcr: 7, component: 'secure_boot_pk', values: signatureValues('pk', sb?.pk) },
    { pcr: 7, component: 'secure_boot_kek', values: signatureValues('kek', sb?.kek) },
    { pcr: 7, component: 'secure_boot_db', values: signatureValues('db', sb?.db) },
    { pcr: 7, component: 'secure_boot_authority', values: digestValues(sb?.authorities) },
    { pcr: 8, component: 'grub_command', values: textValues('grub', p.grubCommands) },
    { pcr: 8, component: 'cmdline', values: textValues('cmdline', p.kernelCmdline) },
    { pcr: 9, component: 'kernel', values: digestValues(p.kernels) },
    { pcr: 9, component: 'initrd', values: digestValues(p.initrds) },
    { pcr: 9, component: 'boot_file', values: digestValues(p.bootFiles) },
    { pcr: null, component: 'separator', values: digestValues(p.separators?.digests !== undefined ? [{ digests: p.separators.digests }] : []) },
  ];
  for (const pcr of [...new Set((p.events ?? []).map((e) => e.pcr))].sort((a, b) => a - b)) {
    list.push({ pcr, component: 'other', values: digestValues((p.events ?? []).filter((e) => e.pcr === pcr)) });
  }
  return list.filter((c) => c.values.length > 0);
}

/** The value keys one boot used, in the profile's appraised PCRs and bank. */
export function usedValues(p: GoldenProfile, log: EventLog, allowed: readonly CensusComponent[] = allowedValues(p)): Set<string> {
  const used = new Set<string>();
  const appraised = new Set(p.pcrs);
  const classes = classifyEvents(log, p);
  const consistency = checkDigestConsistencyDetailed(log, { banks: [p.bank] });
  const verified = (ev: (typeof log.events)[number]): boolean => dataVerified(consistency, ev, p.bank) === true;
  const texts = allowed.flatMap((c) => c.values.filter((v) => v.match !== undefined));
  log.events.forEach((ev, i) => {
    const cls = classes[i];
    if (cls === undefined || !isMeasured(ev) || !appraised.has(ev.pcr)) return;
    const d = ev.digests[p.bank];
    if (d !== undefined) used.add(`d:${toHex(d)}`);
    if (cls.kind === 'signatureDb' && ev.decoded.kind === 'efi_variable' && verified(ev)) {
      for (const e of signatureEntries(ev.decoded.signatureLists)) used.add(`s:${cls.db}:${e.id}`);
    }
    const text = eventText(ev);
    if ((cls.kind === 'kernelCmdline' || cls.kind === 'grubCommand') && text !== undefined && verified(ev)) {
      const kind = cls.kind === 'kernelCmdline' ? 'cmdline' : 'grub';
      for (const v of texts) if (v.key.startsWith(`t:${kind}:`) && v.match !== undefined && textMatches(v.match, text)) used.add(v.key);
    }
  });
  return used;
}
