/**
 * Learn a golden profile from a known-good event log: every measured event in the PCRs the log
 * covers is described by the rule that will appraise it, so appraising the same log passes and
 * anything that differs fails (deny by default still holds for events the log did not have).
 */
import { ProfileError } from './errors.ts';
import type { EventLog, ReplayResult, TcgEvent } from '../eventlog/types.ts';
import { classifyEvents, eventText, EVT, imagePath, type EventClass } from '../appraisal/classify.ts';
import { describeEvent, eventDigestHex } from '../appraisal/match.ts';
import { checkDigestConsistencyDetailed, dataVerified, type ConsistencyReport } from '../eventlog/consistency.ts';
import { signatureEntries } from '../appraisal/rules-secureboot.ts';
import type { HashAlg } from '../tpm/alg.ts';
import { addEntry, pushUnique } from './entries.ts';
import { parseProfile } from './load.ts';
import type { GoldenProfile, ProfileInput } from './schema.ts';

export interface LearnOptions {
  name: string;
  version?: string;
  description?: string;
  /** Bank to appraise; default: sha256 when the log carries it completely, else the first complete bank. */
  bank?: HashAlg;
}

const BANK_PREFERENCE: HashAlg[] = ['sha256', 'sha384', 'sha512', 'sha1'];

export function chooseBank(log: EventLog, replay: ReplayResult): HashAlg {
  const candidates = BANK_PREFERENCE.filter((b) => log.banks.includes(b));
  const complete = candidates.find((b) => !replay.unreplayable.some((u) => u.bank === b));
  return complete ?? candidates[0] ?? 'sha256';
}

export type Draft = Required<Pick<ProfileInput, 'name' | 'version' | 'pcrs'>> & ProfileInput;

export function learnProfile(log: EventLog, replay: ReplayResult, opts: LearnOptions): GoldenProfile {
  const bank = opts.bank ?? chooseBank(log, replay);
  const unreplayable = new Set(replay.unreplayable.filter((u) => u.bank === bank).map((u) => u.pcr));
  const pcrs = [...(replay.pcrs[bank]?.keys() ?? [])].filter((p) => p <= 23 && !unreplayable.has(p)).sort((a, b) => a - b);
  if (pcrs.length === 0) {
    // A profile appraising nothing would pass any quote the host signs: refuse rather than learn it.
    throw new ProfileError(`learned:${opts.name}`, [{ path: '$.pcrs', problem: `the event log (${log.events.length} events) has no replayable measurement in the ${bank} bank to learn from` }]);
  }
  const appraised = new Set(pcrs);
  const draft: Draft = {
    name: opts.name,
    version: opts.version ?? '1',
    description: opts.description ?? `Learned by bootgate golden learn from a ${log.format} event log (${log.events.length} events).`,
    bank,
    pcrs,
  };

  const events = new Set(log.events.filter((e) => appraised.has(e.pcr) && eventDigestHex(e, bank) !== undefined));
  const consistency = checkDigestConsistencyDetailed(log, { banks: [bank] });
  const learnWith = (classes: (EventClass | undefined)[]): void => {
    log.events.forEach((ev, i) => {
      const cls = classes[i];
      if (cls !== undefined && events.has(ev)) learnEvent(draft, bank, ev, cls, consistency);
    });
  };
  learnWith(classifyEvents(log));
  // Classification uses the profile's paths first; learn again with the draft so roles agree.
  learnWith(classifyEvents(log, parseProfile(draft, `learned:${opts.name}`)));

  if (appraised.has(7)) {
    draft.secureBoot ??= { required: false };
    const sb = log.events.find((e) => e.pcr === 7 && e.decoded.kind === 'efi_variable' && e.decoded.name === 'SecureBoot' && e.typeName === 'EV_EFI_VARIABLE_DRIVER_CONFIG');
    // Secure Boot is required only when the log proves it on: unverified data proves nothing.
    draft.secureBoot.required = sb?.decoded.kind === 'efi_variable' && sb.decoded.enabled === true && dataVerified(consistency, sb, bank) === true;
  }
  const sepPcrs = pcrs.filter((p) => [...events].some((e) => e.pcr === p && e.type === EVT.EV_SEPARATOR));
  draft.separators = { pcrs: sepPcrs, ...(draft.separators?.digests !== undefined ? { digests: draft.separators.digests } : {}) };
  return parseProfile(draft, `learned:${opts.name}`);
}

/** Makes `p` allow `ev` by the rule that appraises its class: digest sets grow, nothing is removed. */
export function learnEvent(p: Draft, bank: HashAlg, ev: TcgEvent, cls: EventClass, consistency: ConsistencyReport): void {
  const d = eventDigestHex(ev, bank);
  if (d === undefined) return;
  const comment = describeEvent(ev);
  // Text is learned as a rule only where the digest verifies it; otherwise the digest is pinned.
  const bound = dataVerified(consistency, ev, bank) === true;
  const text = eventText(ev);
  const textEntry = (): { text?: string; digests?: string[]; comment?: string } =>
    text !== undefined && bound ? { text } : text !== undefined ? { text, digests: [d] } : { digests: [d], comment };
  switch (cls.kind) {
    case 'crtmVersion':
      addEntry((p.crtmVersions ??= []), { digests: [d], comment });
      return;
    case 'firmware':
      addEntry((p.firmware ??= []), { type: ev.typeName, digests: [d], comment });
      return;
    case 'driver':
      addEntry((p.drivers ??= []), { type: ev.typeName, digests: [d], comment });
      return;
    case 'bootConfig': {
      const bc = (p.bootConfig ??= {});
      if (cls.variable !== undefined) addEntry((bc.variables ??= []), { name: cls.variable, digests: [d], comment });
      else addEntry((bc.events ??= []), { type: ev.typeName, digests: [d], comment });
      return;
    }
    case 'bootApp': {
      const chain = (p.bootChain ??= {});
      const path = imagePath(ev);
      addEntry((chain[cls.role] ??= []), path !== undefined && path !== "" ? { path, digests: [d] } : { digests: [d], comment: `${cls.role} EFI image (no device path)` });
      return;
    }
    case 'secureBootVar':
      p.secureBoot ??= { required: false };
      return;
    case 'signatureDb': {
      const sb = (p.secureBoot ??= { required: false });
      const set = (sb[cls.db] ??= {});
      const lists = ev.decoded.kind === 'efi_variable' ? ev.decoded.signatureLists : undefined;
      for (const e of signatureEntries(lists)) {
        if (e.isCert) addEntry((set.certificates ??= []), { sha256: e.id, ...(e.subject !== undefined ? { comment: e.subject } : {}) });
        else pushUnique((set.hashes ??= []), e.id);
      }
      return;
    }
    case 'dbx': {
      const sb = (p.secureBoot ??= { required: false });
      const lists = ev.decoded.kind === 'efi_variable' ? ev.decoded.signatureLists : undefined;
      for (const e of signatureEntries(lists)) pushUnique((sb.dbxRequired ??= []), e.id);
      return;
    }
    case 'authority': {
      const sb = (p.secureBoot ??= { required: false });
      const sd = ev.decoded.kind === 'efi_variable' ? ev.decoded.signatureData : undefined;
      addEntry((sb.authorities ??= []), {
        ...(cls.variable !== undefined ? { variable: cls.variable } : {}),
        digests: [d],
        comment: sd?.subject ?? comment,
      });
      return;
    }
    case 'grubCommand':
      addEntry((p.grubCommands ??= []), textEntry());
      return;
    case 'kernelCmdline':
      addEntry((p.kernelCmdline ??= []), textEntry());
      return;
    case 'bootFile': {
      const key = cls.role === 'kernel' ? 'kernels' : cls.role === 'initrd' ? 'initrds' : 'bootFiles';
      addEntry((p[key] ??= []), text !== undefined ? { path: text, digests: [d] } : { digests: [d], comment });
      return;
    }
    case 'separator': {
      const sep = (p.separators ??= { pcrs: [] });
      pushUnique((sep.digests ??= []), d);
      return;
    }
    case 'other': {
      const base = { pcr: ev.pcr, type: ev.typeName, ...(cls.variable !== undefined ? { variable: cls.variable } : {}) };
      addEntry((p.events ??= []), { ...base, ...textEntry() });
      return;
    }
  }
}
