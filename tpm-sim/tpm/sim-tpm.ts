/**
 * A software TPM with just what attestation needs: PCR banks, an EK, one AK, TPM2_Quote,
 * TPM2_ActivateCredential, and a clock with reset/restart counters. Output bytes are exactly what
 * a real TPM returns (TPMS_ATTEST as signed, TPMT_SIGNATURE), so the verifier cannot tell them apart.
 */
import { constants, sign, type KeyObject } from 'node:crypto';
import { TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE } from '../../src/tpm/attributes.ts';
import { encodeTpmsAttest } from '../../src/tpm/attest.ts';
import { computePcrDigest } from '../../src/tpm/pcr-digest.ts';
import type { TPML_PCR_SELECTION } from '../../src/tpm/pcr-selection.ts';
import { tpmObjectName, type TPMT_PUBLIC } from '../../src/tpm/public.ts';
import { encodeTpmtSignature, type TPMT_SIGNATURE } from '../../src/tpm/signature.ts';
import type { HashAlg, PcrBanks } from '../../src/tpm/alg.ts';
import { activateCredential } from './activate.ts';
import { PcrState, SIM_BANKS, type EventDigests, type SimBank } from './pcr-state.ts';
import { akPublic, ekPublic, qualifiedName, type AkType, type EkType } from './templates.ts';

export interface PcrSelectionRequest {
  hash: HashAlg;
  pcrs: number[];
}

export interface QuoteResult {
  /** TPMS_ATTEST exactly as signed (what `tpm2_quote -m` writes). */
  quote: Uint8Array;
  /** TPMT_SIGNATURE (what `tpm2_quote -s` writes). */
  signature: Uint8Array;
  /** The quoted PCR values. */
  pcrs: PcrBanks;
}

/** Sim firmware version: TPM_PT_FIRMWARE_VERSION_1/2 as one u64, like swtpm 0.8 reports. */
export const SIM_FIRMWARE_VERSION = 0x0002000800000000n;

export class SimTpm {
  readonly pcrs = new PcrState();
  readonly ekType: EkType;
  readonly akType: AkType;
  readonly ekPublic: TPMT_PUBLIC;
  readonly akPublic: TPMT_PUBLIC;
  readonly ekName: Uint8Array;
  readonly akName: Uint8Array;
  /** qualifiedSigner in quotes: the AK's Qualified Name under the EK (endorsement hierarchy). */
  readonly akQualifiedName: Uint8Array;
  readonly firmwareVersion = SIM_FIRMWARE_VERSION;
  private readonly ekKey: KeyObject;
  private readonly akKey: KeyObject;
  private clockMs: bigint;
  private lastWall: number;
  resetCount = 1;
  restartCount = 0;

  constructor(opts: { ekType: EkType; ekKey: KeyObject; akType: AkType; akKey: KeyObject; startupLocality?: number; clockStart?: bigint }) {
    this.ekType = opts.ekType;
    this.akType = opts.akType;
    this.ekKey = opts.ekKey;
    this.akKey = opts.akKey;
    this.ekPublic = ekPublic(opts.ekType, opts.ekKey);
    this.akPublic = akPublic(opts.akType, opts.akKey);
    this.ekName = tpmObjectName(this.ekPublic);
    this.akName = tpmObjectName(this.akPublic);
    this.akQualifiedName = qualifiedName(this.ekPublic, this.akPublic);
    this.clockMs = opts.clockStart ?? 100_000n;
    this.lastWall = Date.now();
    this.pcrs.startup(opts.startupLocality ?? 0);
  }

  /** Extend one PCR in every bank the digests cover (an event log event carries one per bank). */
  extend(pcr: number, digests: EventDigests): void {
    for (const bank of SIM_BANKS) {
      const d = digests[bank];
      if (d) this.pcrs.extend(pcr, bank, d);
    }
  }

  extendBank(pcr: number, bank: SimBank, value: Uint8Array): void {
    this.pcrs.extend(pcr, bank, value);
  }

  /** TPMS_CLOCK_INFO: the clock always moves forward, by wall time and at least 1 ms per read. */
  clockInfo(): { clock: bigint; resetCount: number; restartCount: number; safe: boolean } {
    const now = Date.now();
    this.clockMs += BigInt(Math.max(1, now - this.lastWall));
    this.lastWall = now;
    return { clock: this.clockMs, resetCount: this.resetCount, restartCount: this.restartCount, safe: true };
  }

  /** Power cycle: TPM2_Startup(CLEAR) after TPM Reset; resetCount increments, restartCount clears. */
  reboot(startupLocality = 0): void {
    this.resetCount += 1;
    this.restartCount = 0;
    this.pcrs.startup(startupLocality);
  }

  /** TPM2_Quote with the AK's own scheme, signing hash SHA-256, over `selection` (several banks allowed). */
  quote(extraData: Uint8Array, selection: PcrSelectionRequest[]): QuoteResult {
    if (extraData.length > 64) throw new RangeError('TPM_RC_SIZE: qualifyingData is longer than a digest');
    if (selection.length === 0) throw new RangeError('empty PCR selection');
    const pcrSelect: TPML_PCR_SELECTION = selection.map((s) => ({
      hash: s.hash,
      pcrs: [...new Set(s.pcrs)].sort((a, b) => a - b),
      sizeofSelect: 3,
    }));
    const pcrs = this.pcrs.snapshot(pcrSelect);
    const signHash: HashAlg = 'sha256';
    const attest = encodeTpmsAttest({
      magic: TPM_GENERATED_VALUE,
      type: TPM_ST_ATTEST_QUOTE,
      qualifiedSigner: this.akQualifiedName,
      extraData,
      clockInfo: this.clockInfo(),
      firmwareVersion: this.firmwareVersion,
      attested: { kind: 'quote', pcrSelect, pcrDigest: computePcrDigest(pcrSelect, pcrs, signHash) },
    });
    return { quote: attest, signature: encodeTpmtSignature(this.sign(attest, signHash)), pcrs };
  }

  activateCredential(credentialFile: Uint8Array, objectName: Uint8Array = this.akName): Uint8Array {
    return activateCredential(this.ekPublic, this.ekKey, objectName, credentialFile);
  }

  private sign(message: Uint8Array, hash: HashAlg): TPMT_SIGNATURE {
    if (this.akType === 'ecc') {
      const rs = sign(hash, message, { key: this.akKey, dsaEncoding: 'ieee-p1363' });
      return { sigAlg: 'ecdsa', hash, r: new Uint8Array(rs.subarray(0, 32)), s: new Uint8Array(rs.subarray(32)) };
    }
    if (this.akType === 'rsapss') {
      // TPMs use a salt as long as the digest (the TPM 2.0 Part 1 rule for RSASSA-PSS).
      const sig = sign(hash, message, { key: this.akKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      return { sigAlg: 'rsapss', hash, sig: new Uint8Array(sig) };
    }
    const sig = sign(hash, message, { key: this.akKey, padding: constants.RSA_PKCS1_PADDING });
    return { sigAlg: 'rsassa', hash, sig: new Uint8Array(sig) };
  }
}
