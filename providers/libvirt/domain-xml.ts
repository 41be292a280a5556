// The domain XML of a node: see domainXml.
import type { VolumeFormat } from './xml.js';
import { el, renderXml, textEl, type XmlElement } from './xml-writer.js';

/** The fw_cfg key Ignition reads on x86_64/aarch64 (/sys/firmware/qemu_fw_cfg/by_name/opt/com.coreos/config/raw). */
export const IGNITION_FW_CFG_KEY = 'opt/com.coreos/config';

export type DomainType = 'kvm' | 'qemu';

export interface DomainXmlInput {
  name: string;
  uuid?: string;
  /** 'kvm' for real nodes; 'qemu' (TCG emulation) only where /dev/kvm is missing, e.g. some test hosts. */
  type: DomainType;
  memoryMiB: number;
  vcpus: number;
  disk: { path: string; format: VolumeFormat };
  network: { name: string; mac: string };
  /** File on the libvirt host QEMU passes to the guest as fw_cfg `opt/com.coreos/config`. */
  ignitionPath: string;
  /** File on the libvirt host receiving everything the guest writes to its serial console. */
  consoleLogPath: string;
}

/**
 * An x86_64 q35 guest booting from its virtio disk, headless, with the serial console logged to a
 * file. The Ignition config goes in through `<sysinfo type='fwcfg'>` (libvirt >= 6.5), which becomes
 * `-fw_cfg name=opt/com.coreos/config,file=...`. There is deliberately no `<smbios mode='sysinfo'/>`:
 * that mode reads SMBIOS tables from a `<sysinfo type='smbios'>` element, and with only the fwcfg one
 * libvirt 9.0 refuses to start the domain ("sysinfo are not available"). fw_cfg needs no smbios mode.
 */
export function domainXml(input: DomainXmlInput): string {
  assertPositiveInt('memoryMiB', input.memoryMiB);
  assertPositiveInt('vcpus', input.vcpus);
  return renderXml(
    el(
      'domain',
      [['type', input.type]],
      [
        textEl('name', input.name),
        input.uuid !== undefined && textEl('uuid', input.uuid),
        textEl('memory', input.memoryMiB, [['unit', 'MiB']]),
        textEl('currentMemory', input.memoryMiB, [['unit', 'MiB']]),
        textEl('vcpu', input.vcpus, [['placement', 'static']]),
        el(
          'sysinfo',
          [['type', 'fwcfg']],
          [
            el('entry', [
              ['name', IGNITION_FW_CFG_KEY],
              ['file', input.ignitionPath],
            ]),
          ],
        ),
        el(
          'os',
          [],
          [
            textEl('type', 'hvm', [
              ['arch', 'x86_64'],
              ['machine', 'q35'],
            ]),
            el('boot', [['dev', 'hd']]),
          ],
        ),
        el('features', [], [el('acpi'), el('apic')]),
        // host-passthrough: these are single-host VMs, so exposing every host CPU feature costs nothing
        // and gives the best performance. TCG cannot pass the host CPU through: it keeps QEMU's default.
        input.type === 'kvm' &&
          el('cpu', [
            ['mode', 'host-passthrough'],
            ['check', 'none'],
          ]),
        el('clock', [['offset', 'utc']]),
        textEl('on_poweroff', 'destroy'),
        textEl('on_reboot', 'restart'),
        textEl('on_crash', 'destroy'),
        el('devices', [], domainDevices(input)),
      ],
    ),
  );
}

function domainDevices(input: DomainXmlInput): XmlElement[] {
  return [
    el(
      'disk',
      [
        ['type', 'file'],
        ['device', 'disk'],
      ],
      [
        el('driver', [
          ['name', 'qemu'],
          ['type', input.disk.format],
          ['discard', 'unmap'],
        ]),
        el('source', [['file', input.disk.path]]),
        el('target', [
          ['dev', 'vda'],
          ['bus', 'virtio'],
        ]),
      ],
    ),
    el(
      'interface',
      [['type', 'network']],
      [
        el('mac', [['address', input.network.mac]]),
        el('source', [['network', input.network.name]]),
        el('model', [['type', 'virtio']]),
      ],
    ),
    el(
      'serial',
      [['type', 'pty']],
      [
        el('log', [
          ['file', input.consoleLogPath],
          ['append', 'on'],
        ]),
        el('target', [['port', 0]]),
      ],
    ),
    el(
      'console',
      [['type', 'pty']],
      [
        el('target', [
          ['type', 'serial'],
          ['port', 0],
        ]),
      ],
    ),
    el('rng', [['model', 'virtio']], [textEl('backend', '/dev/urandom', [['model', 'random']])]),
  ];
}

function assertPositiveInt(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`domain ${what} must be a positive whole number`);
}
