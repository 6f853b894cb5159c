/**
 * A Platform describes one machine's boot chain: firmware, option ROMs, Secure Boot databases, boot
 * options, disk, shim, grub, kernel, initrd and command line. referencePlatform() is the clean
 * machine every scenario starts from; it is deterministic, so every clean host measures the same.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNP0A03, type DevicePathNode, type GptPartition } from './efi.ts';

export interface Image {
  /** Path on the ESP or /boot, as the loader sees it. */
  path: string;
  /** The image bytes; their SHA digests are what firmware and grub measure. */
  contents: Uint8Array;
}

export interface Platform {
  firmware: {
    /** EV_S_CRTM_VERSION text (UTF-16LE in the log). */
    crtmVersion: string;
    blobs: { base: bigint; contents: Uint8Array }[];
  };
  /** S-CRTM locality: 3 on TXT/Boot Guard machines (PCR 0 starts at 00..03), else 0. */
  startupLocality: number;
  /** Option ROMs and other boot-services drivers measured into PCR 2. */
  drivers: { devicePath: DevicePathNode[]; image: Uint8Array }[];
  secureBoot: {
    enabled: boolean;
    pk: Uint8Array[];
    kek: Uint8Array[];
    db: { certs: Uint8Array[]; sha256: Uint8Array[] };
    dbx: { certs: Uint8Array[]; sha256: Uint8Array[] };
    /** The db certificate that verifies shim (EV_EFI_VARIABLE_AUTHORITY, PCR 7). */
    shimAuthority: Uint8Array;
    /** shim's built-in vendor certificate that verifies grub and the kernel. */
    vendorCert: Uint8Array;
    sbatLevel: string;
  };
  boot: {
    order: number[];
    options: { number: number; description: string; devicePath: DevicePathNode[] }[];
  };
  disk: { guid: string; lastLba: bigint; partitions: GptPartition[]; espDevicePath: DevicePathNode[] };
  mokList: Uint8Array;
  mokListX: Uint8Array;
  shim: Image;
  grub: Image;
  kernel: Image;
  initrd: Image;
  grubConfig: Image;
  /** Commands grub runs and measures into PCR 8 as "grub_cmd: …" (none carries the kernel command line). */
  grubCommands: string[];
  kernelCmdline: string;
}

/** Deterministic stand-in bytes for an image: a PE-looking header and a hash stream keyed by `label`. */
export function fakeImage(label: string, size = 4096): Uint8Array {
  const out = new Uint8Array(size);
  out.set(Buffer.from(`MZ${label}`, 'latin1').subarray(0, 64));
  let block = createHash('sha512').update(label).digest();
  for (let at = 64; at < size; at += block.length) {
    out.set(block.subarray(0, Math.min(block.length, size - at)), at);
    block = createHash('sha512').update(block).digest();
  }
  return out;
}

const certDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'ca', 'secure-boot');

const certCache = new Map<string, Uint8Array>();
/** A committed Secure Boot certificate (DER) from tpm-sim/ca/secure-boot. */
export function secureBootCert(name: 'pk' | 'kek' | 'db' | 'shim-vendor' | 'db-rogue'): Uint8Array {
  const hit = certCache.get(name);
  if (hit) return hit;
  const pem = readFileSync(join(certDir, `${name}.crt.pem`), 'utf8');
  const der = new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
  certCache.set(name, der);
  return der;
}

function sha256(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label).digest());
}

/** dbx entries the reference profile requires (revoked bootloader hashes). */
export const REQUIRED_DBX_HASHES = [sha256('revoked: grub 2.04 BootHole'), sha256('revoked: shim 15.4'), sha256('revoked: shim 15.6')];

const DISK_GUID = '6a1f3c5e-8b2d-4e7a-9c41-0d5e7f2a9b13';
const ESP_GUID = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
const LINUX_FS_GUID = '0fc63daf-8483-4772-8e79-3d69d8477de4';
const ESP_UNIQUE = '4b2e8a10-5c3d-4f6e-a7b8-9c0d1e2f3a4b';
const ROOT_UNIQUE = '7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a';

const SATA: DevicePathNode[] = [
  { kind: 'acpi', hid: PNP0A03, uid: 0 },
  { kind: 'pci', device: 0x1f, fn: 0x2 },
  { kind: 'sata', port: 0 },
];
const ESP_HD: DevicePathNode = { kind: 'hd', partition: 1, start: 2048n, size: 1048576n, signature: ESP_UNIQUE };

let reference: Platform | undefined;

function build(): Platform {
  const espDevicePath = [...SATA, ESP_HD];
  return {
    firmware: {
      crtmVersion: 'tpm-sim UEFI firmware 2.1.0',
      blobs: [
        { base: 0xffc00000n, contents: fakeImage('firmware volume PEI 2.1.0', 8192) },
        { base: 0xffe00000n, contents: fakeImage('firmware volume DXE 2.1.0', 8192) },
      ],
    },
    startupLocality: 3,
    drivers: [],
    secureBoot: {
      enabled: true,
      pk: [secureBootCert('pk')],
      kek: [secureBootCert('kek')],
      db: { certs: [secureBootCert('db')], sha256: [] },
      dbx: { certs: [], sha256: [...REQUIRED_DBX_HASHES] },
      shimAuthority: secureBootCert('db'),
      vendorCert: secureBootCert('shim-vendor'),
      sbatLevel: 'sbat,1,2022052400\ngrub,2\n',
    },
    boot: {
      order: [1, 0],
      options: [
        { number: 1, description: 'Linux Boot Manager', devicePath: [ESP_HD, { kind: 'file', path: '\\EFI\\sim\\shimx64.efi' }] },
        { number: 0, description: 'UEFI Shell', devicePath: [{ kind: 'file', path: '\\EFI\\BOOT\\Shell.efi' }] },
      ],
    },
    disk: {
      guid: DISK_GUID,
      lastLba: 41943039n,
      partitions: [
        { typeGuid: ESP_GUID, uniqueGuid: ESP_UNIQUE, startingLba: 2048n, endingLba: 1050623n, name: 'EFI System Partition' },
        { typeGuid: LINUX_FS_GUID, uniqueGuid: ROOT_UNIQUE, startingLba: 1050624n, endingLba: 41940991n, name: 'root' },
      ],
      espDevicePath,
    },
    mokList: new Uint8Array(0),
    mokListX: new Uint8Array(0),
    shim: { path: '\\EFI\\sim\\shimx64.efi', contents: fakeImage('shim 15.8') },
    grub: { path: '\\EFI\\sim\\grubx64.efi', contents: fakeImage('grub 2.12') },
    kernel: { path: '/boot/vmlinuz-6.8.0-sim', contents: fakeImage('linux 6.8.0-sim', 16384) },
    initrd: { path: '/boot/initrd.img-6.8.0-sim', contents: fakeImage('initrd 6.8.0-sim', 16384) },
    grubConfig: { path: '(hd0,gpt1)/EFI/sim/grub.cfg', contents: new Uint8Array(Buffer.from('set default=0\nset timeout=0\n')) },
    grubCommands: [
      `search --no-floppy --fs-uuid --set=root ${ROOT_UNIQUE}`,
      'set prefix=($root)/boot/grub',
      'set default=0',
      'set timeout=0',
      'insmod gzio',
      'insmod part_gpt',
      'insmod ext2',
      'setparams sim-linux',
    ],
    kernelCmdline: `/boot/vmlinuz-6.8.0-sim root=PARTUUID=${ROOT_UNIQUE} ro quiet splash`,
  };
}

function clonePlatform(p: Platform): Platform {
  return structuredClone(p);
}

/** The clean reference machine (a fresh deep copy each call, so callers may edit it). */
export function referencePlatform(): Platform {
  reference ??= build();
  return clonePlatform(reference);
}
