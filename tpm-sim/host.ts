/**
 * A simulated host: a SimTpm with its EK certificate and AK, booted once through a Platform
 * (the reference platform with a scenario applied), with its event log. What SERVICE and GOLDEN use.
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import type { HashAlg, PcrBanks } from '../src/tpm/alg.ts';
import { encodeTpm2bPublic } from '../src/tpm/public.ts';
import { bootEvents, bootPlatform, digestsOf, extendTpm } from './boot/boot.ts';
import { encodeEventLog, type SimEvent } from './boot/event-log.ts';
import { referencePlatform, type Platform } from './boot/platform.ts';
import { LOG_BANKS } from './boot/boot.ts';
import { SCENARIOS, TAMPERED_PCR11_EXTEND, applyScenario, type ScenarioName } from './scenarios.ts';
import { issueEkCertificate } from './tpm/ek-cert.ts';
import { deriveP256Key, takeRsaKey } from './tpm/keys.ts';
import { SimTpm, type PcrSelectionRequest, type QuoteResult } from './tpm/sim-tpm.ts';
import type { AkType, EkType } from './tpm/templates.ts';

export interface SimHostOptions {
  scenario?: ScenarioName;
  /**
   * Default 'ecc' (P-256, NV index 0x1c0000a): derived from the seed in well under a millisecond. 'rsa' (the
   * RSA-2048 EK at 0x1c00002) needs an RSA keygen per key (50-500 ms) unless prewarmRsaKeys() filled the pool.
   */
  ekType?: EkType;
  /** Default 'ecc' (ECDSA P-256 SHA-256); 'rsa' (RSASSA-SHA256, tpm2_createak's default) or 'rsapss'. */
  akType?: AkType;
  hostId?: string;
  /** ECC keys and the EK serial derive from this (default: hostId), so a host is reproducible. */
  seed?: string;
}

/** Evidence the host produced earlier, kept by replayed-quote hosts to resubmit. */
export interface StaleEvidence {
  nonce: Uint8Array;
  quote: Uint8Array;
  signature: Uint8Array;
  pcrs: PcrBanks;
  eventLog: Uint8Array;
}

export interface SimHost {
  hostId: string;
  scenario: ScenarioName;
  tpm: SimTpm;
  ekCertDer: Uint8Array;
  /** TPM2B_PUBLIC (what tpm2_createek -u writes). */
  ekPub: Uint8Array;
  /** TPM2B_PUBLIC (what tpm2_createak -u writes). */
  akPub: Uint8Array;
  /** u16 nameAlg ‖ SHA-256(TPMT_PUBLIC). */
  akName: Uint8Array;
  /** The event log the host reports (for log-tamper, the edited one). Changes on reboot(). */
  eventLog: Uint8Array;
  /** The events behind eventLog. */
  events: SimEvent[];
  platform: Platform;
  activateCredential(credentialFile: Uint8Array): Uint8Array;
  /** TPM2_Quote; default selection sha256 PCRs 0-15. `pcrs` are the quoted values. */
  quote(extraData: Uint8Array, selection?: PcrSelectionRequest[]): QuoteResult;
  /** Power cycle: PCRs reset, resetCount + 1, the same platform boots again (scenario included). */
  reboot(): void;
  /** For replayed-quote hosts: the quote made at boot with an old nonce (undefined for other scenarios). */
  staleEvidence(): StaleEvidence | undefined;
}

export const DEFAULT_SELECTION: PcrSelectionRequest[] = [{ hash: 'sha256', pcrs: [...Array(16).keys()] }];

function seedBytes(s: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`tpm-sim seed\0${s}`).digest());
}

function keyFor(type: 'rsa' | 'ecc', seed: Uint8Array, label: string): KeyObject {
  return type === 'ecc' ? deriveP256Key(seed, label) : takeRsaKey();
}

let cleanKernelDigests: ReturnType<typeof digestsOf> | undefined;

/** log-tamper: rewrite the kernel events (PCR 4 image, PCR 9 file) to the clean kernel's digests. */
function tamperLog(events: SimEvent[]): SimEvent[] {
  cleanKernelDigests ??= digestsOf(referencePlatform().kernel.contents);
  const clean = cleanKernelDigests;
  return events.map((e) => (e.component === 'kernel' ? { ...e, digests: { ...clean } } : e));
}

/** First boots of unmodified scenario platforms are identical, so their events and log are computed once. */
const firstBootCache = new Map<ScenarioName, { events: SimEvent[]; eventLog: Uint8Array }>();

function firstBoot(tpm: SimTpm, scenario: ScenarioName, platform: Platform): { events: SimEvent[]; eventLog: Uint8Array } {
  let hit = firstBootCache.get(scenario);
  if (!hit) {
    const events = bootEvents(platform);
    hit = { events, eventLog: encodeEventLog(LOG_BANKS, events) };
    firstBootCache.set(scenario, hit);
  }
  extendTpm(tpm, hit.events);
  return { events: hit.events, eventLog: hit.eventLog.slice() };
}

export function createSimHost(opts: SimHostOptions = {}): SimHost {
  const scenario = opts.scenario ?? 'clean';
  if (!(scenario in SCENARIOS)) throw new RangeError(`unknown scenario ${String(scenario)}`);
  const hostId = opts.hostId ?? `sim-${randomBytes(4).toString('hex')}`;
  const ekType = opts.ekType ?? 'ecc';
  const akType = opts.akType ?? 'ecc';
  const seed = seedBytes(opts.seed ?? hostId);
  const platform = applyScenario(referencePlatform(), scenario);
  const ekKey = keyFor(ekType, seed, 'endorsement key');
  const akKey = keyFor(akType === 'ecc' ? 'ecc' : 'rsa', seed, 'attestation key');
  const tpm = new SimTpm({ ekType, ekKey, akType, akKey, startupLocality: platform.startupLocality });
  const ekCertDer = issueEkCertificate(ekType, ekKey, new Uint8Array([...seed, ...tpm.ekName]));

  let stale: StaleEvidence | undefined;
  const host: SimHost = {
    hostId,
    scenario,
    tpm,
    ekCertDer,
    ekPub: encodeTpm2bPublic(tpm.ekPublic),
    akPub: encodeTpm2bPublic(tpm.akPublic),
    akName: tpm.akName,
    eventLog: new Uint8Array(0),
    events: [],
    platform,
    activateCredential: (file) => tpm.activateCredential(file),
    quote: (extraData, selection = DEFAULT_SELECTION) => tpm.quote(extraData, selection),
    reboot: () => boot(true),
    staleEvidence: () => stale,
  };

  function boot(reboot: boolean): void {
    const result = reboot ? bootPlatform(tpm, platform, { reboot }) : firstBoot(tpm, scenario, platform);
    let events = result.events;
    let eventLog = result.eventLog;
    if (scenario === 'hidden-measurement') {
      // Something after boot measures into PCR 11 without logging it.
      for (const [bank, d] of Object.entries(digestsOf(new TextEncoder().encode(TAMPERED_PCR11_EXTEND)))) {
        tpm.extendBank(11, bank as 'sha1' | 'sha256' | 'sha384', d);
      }
    }
    if (scenario === 'log-tamper') {
      events = tamperLog(events);
      eventLog = encodeEventLog(LOG_BANKS, events);
    }
    host.events = events;
    host.eventLog = eventLog;
    if (scenario === 'replayed-quote') {
      const nonce = new Uint8Array(randomBytes(32));
      const q = tpm.quote(nonce, DEFAULT_SELECTION);
      stale = { nonce, quote: q.quote, signature: q.signature, pcrs: q.pcrs, eventLog };
    }
  }
  boot(false);
  return host;
}

export type { HashAlg };
