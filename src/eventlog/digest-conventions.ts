/**
 * Which digests are genuine for each event type whose digest can be checked against its data:
 * the TCG PC Client Platform Firmware Profile's (PFP) form, EDK2's where it differs (most firmware
 * derives from EDK2), and the vendor deviations that FIRMWARE_QUIRKS lists. An event whose digest
 * matches one of these has verified data; any other digest leaves its data unverified. Whether
 * unverified data matters is the appraisal's decision, not this table's: it matters only where a
 * golden rule reads the data.
 *
 * Types whose digest covers something the log does not hold (an image, a firmware volume, a
 * table in memory) are listed with `measures` and no forms: their data can never be verified.
 */
import { EV } from './event-types.ts';
import { readUefiVariableData } from './decode/efi-variable.ts';
import type { TcgEvent } from './types.ts';

export interface DigestForm {
  /** Stable identifier, reported when an event is verified through this form. */
  id: string;
  /** What is hashed. */
  preimage: string;
  /** Where this form is defined or implemented. */
  source: string;
  /** The bytes hashed, or null when the event data does not have the structure the form needs. */
  bytes: (e: TcgEvent) => Uint8Array | null;
}

export interface DigestConvention {
  eventType: number;
  /** Only these PCRs (undefined: any PCR). */
  pcrs?: readonly number[];
  /** Genuine preimages, the PFP's first. Empty when the digest covers content outside the log. */
  forms: readonly DigestForm[];
  /** For types with no forms: what the digest measures instead. */
  measures?: string;
}

function variableData(e: TcgEvent): Uint8Array | null {
  try {
    return readUefiVariableData(e.data, 0).variableData;
  } catch {
    return null; // not a UEFI_VARIABLE_DATA: this form does not apply
  }
}

const EVENT_DATA = (source: string): DigestForm => ({ id: 'event-data', preimage: 'the event data', source, bytes: (e) => e.data });

const UEFI_VARIABLE_DATA = (source: string): DigestForm => ({ id: 'uefi-variable-data', preimage: 'the whole UEFI_VARIABLE_DATA (the event data)', source, bytes: (e) => e.data });

const EDK2_VARIABLE_VALUE: DigestForm = {
  id: 'edk2-variable-value',
  preimage: 'VariableData alone (the variable value, without GUID and name)',
  source: 'EDK2 SecurityPkg/Tcg/Tcg2Dxe/Tcg2Dxe.c MeasureVariable(): every variable event type but EV_EFI_VARIABLE_DRIVER_CONFIG and EV_EFI_SPDM_DEVICE_POLICY hashes VarData only; also accepted by keylime python3-uefi-eventlog (EfiVarBootEvent.validate) and canonical tcglog-check',
  bytes: variableData,
};

const PFP = 'TCG PC Client Platform Firmware Profile (PFP) 1.05/1.06, section 10.4.1 (Event Types)';

export const DIGEST_CONVENTIONS: readonly DigestConvention[] = [
  { eventType: EV.EV_SEPARATOR, forms: [EVENT_DATA(`${PFP}; EDK2 Tcg2Dxe MeasureSeparatorEvent()`)] },
  { eventType: EV.EV_ACTION, forms: [EVENT_DATA(PFP)] },
  { eventType: EV.EV_EFI_ACTION, forms: [EVENT_DATA(`${PFP}; EDK2 Tcg2Dxe TcgMeasureAction()`)] },
  { eventType: EV.EV_OMIT_BOOT_DEVICE_EVENTS, forms: [EVENT_DATA(PFP)] },
  // Intel Boot Guard platforms deviate: FIRMWARE_QUIRKS "s-crtm-version-boot-guard".
  { eventType: EV.EV_S_CRTM_VERSION, forms: [EVENT_DATA(`${PFP}; U-Boot efi_append_scrtm_version(); tpm2-tools lib/tpm2_eventlog.c verify_digests() (a warning only)`)] },
  { eventType: EV.EV_S_CRTM_CONTENTS, forms: [], measures: 'the S-CRTM itself; the data only describes it (PFP 10.4.1)' },
  { eventType: EV.EV_POST_CODE, forms: [], measures: 'the POST code or firmware volume; the data is a description or UEFI_PLATFORM_FIRMWARE_BLOB (PFP 10.4.1)' },
  { eventType: EV.EV_POST_CODE2, forms: [], measures: 'the POST code or firmware volume; the data is a UEFI_PLATFORM_FIRMWARE_BLOB2 (PFP 1.06)' },
  { eventType: EV.EV_EFI_PLATFORM_FIRMWARE_BLOB, forms: [], measures: 'the firmware volume at the logged address (PFP 10.4.1)' },
  { eventType: EV.EV_EFI_PLATFORM_FIRMWARE_BLOB2, forms: [], measures: 'the firmware volume at the logged address; the data adds a description (PFP 1.05)' },
  { eventType: EV.EV_EFI_HANDOFF_TABLES, forms: [], measures: 'the tables in memory the pointers name (PFP 10.4.1; EDK2 Tcg2Dxe MeasureHandoffTables())' },
  { eventType: EV.EV_EFI_HANDOFF_TABLES2, forms: [], measures: 'the tables in memory the pointers name (PFP 1.05)' },
  { eventType: EV.EV_EFI_BOOT_SERVICES_APPLICATION, forms: [], measures: 'the PE image (Authenticode digest); the device path is not measured' },
  { eventType: EV.EV_EFI_BOOT_SERVICES_DRIVER, forms: [], measures: 'the PE image (Authenticode digest), e.g. an option ROM' },
  { eventType: EV.EV_EFI_RUNTIME_SERVICES_DRIVER, forms: [], measures: 'the PE image (Authenticode digest)' },
  { eventType: EV.EV_EFI_HCRTM_EVENT, forms: [], measures: 'the H-CRTM measurement made before the firmware ran (PFP 1.05)' },
  { eventType: EV.EV_EFI_GPT_EVENT, forms: [EVENT_DATA(`${PFP} (UEFI_GPT_DATA); EDK2 Tcg2Dxe Tcg2MeasureGptTable(); tpm2-tools verify_digests()`)] },
  { eventType: EV.EV_EFI_GPT_EVENT2, forms: [EVENT_DATA('PFP 1.06 (UEFI_GPT_DATA with DiskGUID and UniquePartitionGUIDs zeroed as logged; canonical tcglog-parser EFIGPTData)')] },
  { eventType: EV.EV_EFI_VARIABLE_DRIVER_CONFIG, forms: [UEFI_VARIABLE_DATA(`${PFP}; EDK2 Tcg2Dxe MeasureVariable(); go-attestation ParseSecurebootState`)] },
  // EV_EFI_VARIABLE_BOOT on any PCR: Lenovo ThinkPads and others measure BootOrder and Boot#### into PCR 5 the EDK2 way.
  { eventType: EV.EV_EFI_VARIABLE_BOOT, forms: [UEFI_VARIABLE_DATA(PFP), EDK2_VARIABLE_VALUE] },
  // PFP 1.05 added EV_EFI_VARIABLE_BOOT2 precisely so that the whole structure is hashed; EDK2's form is accepted too.
  { eventType: EV.EV_EFI_VARIABLE_BOOT2, forms: [UEFI_VARIABLE_DATA('PFP 1.05; U-Boot tcg2_measure_boot_variable(); canonical tcglog-check'), EDK2_VARIABLE_VALUE] },
  // shim before 15.3 deviates: FIRMWARE_QUIRKS "shim-authority-extra-byte".
  { eventType: EV.EV_EFI_VARIABLE_AUTHORITY, forms: [UEFI_VARIABLE_DATA(`${PFP}; EDK2 DxeImageVerificationLib; go-attestation ParseSecurebootState`)] },
  { eventType: EV.EV_EFI_SPDM_FIRMWARE_BLOB, forms: [EVENT_DATA('PFP 1.06 (DEVICE_SECURITY_EVENT_DATA2); EDK2 SecurityPkg/DeviceSecurity/SpdmSecurityLib/SpdmMeasurement.c ExtendMeasurement()')] },
  { eventType: EV.EV_EFI_SPDM_FIRMWARE_CONFIG, forms: [EVENT_DATA('PFP 1.06 (DEVICE_SECURITY_EVENT_DATA2); EDK2 SpdmMeasurement.c ExtendMeasurement()')] },
  { eventType: EV.EV_EFI_SPDM_DEVICE_POLICY, forms: [UEFI_VARIABLE_DATA('PFP 1.06; EDK2 Tcg2Dxe MeasureVariable()')] },
  { eventType: EV.EV_EFI_SPDM_DEVICE_AUTHORITY, forms: [UEFI_VARIABLE_DATA('PFP 1.06; EDK2 SecurityPkg/DeviceSecurity/SpdmSecurityLib/SpdmAuthentication.c MeasureVariable()')] },
  // grub's commands and command line (PCR 8) and systemd-boot's (PCR 12); grub's prefixes are FIRMWARE_QUIRKS.
  // Elsewhere (PCR 9 files, PCR 14 MOK variables) EV_IPL data names content the log does not hold.
  { eventType: EV.EV_IPL, pcrs: [8, 12], forms: [EVENT_DATA('grub (grub_tpm_measure), systemd-boot and systemd-stub; tpm2-tools verify_digests()')] },
];

const BY_TYPE = new Map(DIGEST_CONVENTIONS.map((c) => [c.eventType, c]));

/** The convention for this event when its digest can be checked against its data; undefined otherwise. */
export function checkableConvention(e: TcgEvent): DigestConvention | undefined {
  const c = BY_TYPE.get(e.type);
  if (c === undefined || c.forms.length === 0) return undefined;
  if (c.pcrs !== undefined && !c.pcrs.includes(e.pcr)) return undefined;
  return c;
}
