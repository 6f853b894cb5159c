/**
 * Component names in the profile's vocabulary (contract §6), one per golden rule that decides an
 * event: what `changes`, drift groups and the census call each part of a boot.
 */
import type { EventClass } from './classify.ts';

export const COMPONENTS = [
  'crtm_version',
  'firmware',
  'boot_config',
  'option_rom',
  'secure_boot',
  'secure_boot_pk',
  'secure_boot_kek',
  'secure_boot_db',
  'secure_boot_dbx',
  'secure_boot_authority',
  'shim',
  'bootloader',
  'kernel',
  'initrd',
  'boot_file',
  'grub_command',
  'cmdline',
  'separator',
  'other',
] as const;

export type Component = (typeof COMPONENTS)[number];

/** The component of a classified event (classifyEvents). */
export function componentOf(cls: EventClass): Component {
  switch (cls.kind) {
    case 'crtmVersion':
      return 'crtm_version';
    case 'firmware':
      return 'firmware';
    case 'bootConfig':
      return 'boot_config';
    case 'driver':
      return 'option_rom';
    case 'bootApp':
      return cls.role;
    case 'secureBootVar':
      return 'secure_boot';
    case 'signatureDb':
      return cls.db === 'pk' ? 'secure_boot_pk' : cls.db === 'kek' ? 'secure_boot_kek' : 'secure_boot_db';
    case 'dbx':
      return 'secure_boot_dbx';
    case 'authority':
      return 'secure_boot_authority';
    case 'grubCommand':
      return 'grub_command';
    case 'kernelCmdline':
      return 'cmdline';
    case 'bootFile':
      return cls.role === 'file' ? 'boot_file' : cls.role;
    case 'separator':
      return 'separator';
    case 'other':
      return 'other';
  }
}
