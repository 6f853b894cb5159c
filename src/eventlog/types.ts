/**
 * The parsed form of a TCG PC Client event log, shared by the parser, replay, the golden
 * appraisal and the CLI. Field names follow the TCG PC Client Platform Firmware Profile.
 */
import type { HashAlg, PcrBanks } from '../tpm/alg.ts';

export type LogFormat = 'crypto-agile' | 'sha1';

/** TCG_EfiSpecIdEvent (the first event of a crypto-agile log). */
export interface SpecIdEvent {
  platformClass: number;
  specVersion: { major: number; minor: number; errata: number };
  uintnSize: number;
  /** digestSizes[]: every algorithm the log declares, in header order, including ones bootgate cannot hash. */
  algorithms: { algorithmId: number; digestSize: number; hashAlg?: HashAlg }[];
  vendorInfo: Uint8Array;
}

/** EFI_SIGNATURE_LIST, with each EFI_SIGNATURE_DATA entry. */
export interface EfiSignatureList {
  /** SignatureType GUID, canonical lower-case text form. */
  signatureType: string;
  /** 'x509' | 'sha256' | other known names, or 'unknown'. */
  signatureTypeName: string;
  signatures: {
    owner: string;
    data: Uint8Array;
    /** For X.509 entries: SHA-256 of the DER certificate (hex) and its subject, when it parses. */
    certSha256?: string;
    subject?: string;
  }[];
}

/** One node of an EFI_DEVICE_PATH_PROTOCOL chain. `text` is a best-effort rendering. */
export interface DevicePathNode {
  type: number;
  subType: number;
  data: Uint8Array;
  text: string;
}

export type DecodedEvent =
  | {
      kind: 'efi_variable';
      /** VariableName GUID, canonical lower-case text form. */
      variableGuid: string;
      /** UnicodeName, e.g. "SecureBoot", "db", "Boot0001". */
      name: string;
      variableData: Uint8Array;
      /** For PK/KEK/db/dbx (and EV_EFI_VARIABLE_AUTHORITY entries that are signature data). */
      signatureLists?: EfiSignatureList[];
      /** For EV_EFI_VARIABLE_AUTHORITY: the single EFI_SIGNATURE_DATA (owner + data). */
      signatureData?: { owner: string; data: Uint8Array; certSha256?: string; subject?: string };
      /** For Boot#### variables: the EFI_LOAD_OPTION. */
      loadOption?: { attributes: number; description: string; devicePath: DevicePathNode[] };
      /** For BootOrder: the boot option numbers. */
      bootOrder?: number[];
      /** For SecureBoot and similar one-byte booleans; null when the variable is empty. */
      enabled?: boolean | null;
    }
  | {
      kind: 'image_load';
      /** UEFI_IMAGE_LOAD_EVENT fields. */
      imageLocationInMemory: bigint;
      imageLengthInMemory: bigint;
      imageLinkTimeAddress: bigint;
      devicePath: DevicePathNode[];
      /** The file path from the device path when there is one, e.g. "\\EFI\\ubuntu\\shimx64.efi". */
      path?: string;
    }
  | {
      kind: 'firmware_blob';
      /** UEFI_PLATFORM_FIRMWARE_BLOB (or BLOB2 with its description). */
      base: bigint;
      length: bigint;
      description?: string;
    }
  | {
      /** EV_EFI_ACTION, EV_IPL, EV_S_CRTM_VERSION, EV_POST_CODE, EV_S_CRTM_CONTENTS and other text events. */
      kind: 'text';
      text: string;
      encoding: 'ascii' | 'utf-16le';
      /** True when the bytes ended in a NUL that is not part of `text`. */
      nulTerminated: boolean;
    }
  | {
      kind: 'separator';
      /** The 4-byte value (0 normal, 1 error), or null for non-standard separators such as "WBCL". */
      value: number | null;
      isError: boolean;
      raw: Uint8Array;
    }
  | {
      kind: 'gpt';
      diskGuid: string;
      partitions: { typeGuid: string; uniqueGuid: string; startingLba: bigint; endingLba: bigint; name: string }[];
    }
  | { kind: 'spec_id'; specId: SpecIdEvent }
  | { kind: 'startup_locality'; locality: number }
  | { kind: 'sp800_155'; raw: Uint8Array }
  | { kind: 'no_action'; signature: string }
  | { kind: 'event_tag'; taggedEventId: number; data: Uint8Array }
  | { kind: 'hcrtm'; text: string }
  | { kind: 'raw' };

export interface TcgEvent {
  /** Position in the log, 0-based, counting every event including EV_NO_ACTION. */
  index: number;
  /** Byte offset of the event header in the log. */
  offset: number;
  /** PCRIndex as written; Windows logs carry 0xFFFFFFFF for events that are not measured. */
  pcr: number;
  /** EventType. */
  type: number;
  /** TCG name, e.g. "EV_EFI_VARIABLE_DRIVER_CONFIG", or "EV_UNKNOWN_0x…" when not known. */
  typeName: string;
  /** Digests carried by the event, by bank. Banks the event does not carry are absent. */
  digests: Partial<Record<HashAlg, Uint8Array>>;
  /** The event data bytes. */
  data: Uint8Array;
  /** Structured decoding of `data`; kind 'raw' when the type has none or decoding failed. */
  decoded: DecodedEvent;
  /** Why decoding fell back to raw, if it did (the log still parses; appraisal may refuse). */
  decodeError?: string;
}

export interface EventLog {
  format: LogFormat;
  specId?: SpecIdEvent;
  /** Banks the log declares that bootgate can hash, in header order ('sha1' for legacy logs). */
  banks: HashAlg[];
  events: TcgEvent[];
}

/** A PCR that replay could not compute for a bank because an event lacked that bank's digest. */
export interface UnreplayablePcr {
  bank: HashAlg;
  pcr: number;
  eventIndex: number;
}

export interface ReplayResult {
  /** Replayed PCR values, bank -> PCR index -> value. Only PCRs the log extends (or initialises) appear. */
  pcrs: PcrBanks;
  /** PCRs that cannot be replayed in a bank: they must not be trusted from the log. */
  unreplayable: UnreplayablePcr[];
  /** Locality from the StartupLocality event, if any (sets PCR0's initial value). */
  startupLocality?: number;
}

/** An event whose digest is not the hash of its data, for event types where it must be. */
export interface DigestMismatch {
  eventIndex: number;
  pcr: number;
  typeName: string;
  bank: HashAlg;
  /** The digest the log carries. */
  logged: string;
  /** The hash of the event data (the canonical form). */
  computed: string;
  /** The FIRMWARE_QUIRKS 'opaque' entry that explains why this digest cannot match, when one applies. */
  knownDeviation?: string;
}
