// Minimal IPv4 arithmetic for address planning and subnet validation. Addresses are unsigned 32-bit
// numbers so ranges and overlaps are plain integer comparisons.

export interface Cidr {
  network: number;
  prefix: number;
  /** Number of addresses in the block (2^(32-prefix)). */
  size: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses "a.b.c.d/n"; rejects host bits set, so a typo like 10.0.0.1/8 is caught rather than guessed. */
export function parseCidr(text: string): Cidr | { error: string } {
  const [addr, prefixText, extra] = text.split('/');
  if (addr === undefined || prefixText === undefined || extra !== undefined) {
    return { error: `"${text}" is not an IPv4 CIDR (expected a.b.c.d/n)` };
  }
  const network = parseIpv4(addr);
  const prefix = /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (network === undefined || !(prefix >= 0 && prefix <= 32)) {
    return { error: `"${text}" is not an IPv4 CIDR (expected a.b.c.d/n)` };
  }
  const size = 2 ** (32 - prefix);
  if (network % size !== 0) {
    return {
      error: `"${text}" has host bits set; the network address is ${formatIpv4(network - (network % size))}/${prefix}`,
    };
  }
  return { network, prefix, size };
}

export function isCidr(value: Cidr | { error: string }): value is Cidr {
  return !('error' in value);
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return address >= cidr.network && address < cidr.network + cidr.size;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

export function broadcastAddress(cidr: Cidr): number {
  return cidr.network + cidr.size - 1;
}

/** First usable host address: the default gateway of a network. */
export function firstHost(cidr: Cidr): number {
  return cidr.prefix >= 31 ? cidr.network : cidr.network + 1;
}

/**
 * Whether an address may be given to a node: inside the block and not its network, broadcast or
 * gateway address.
 */
export function isAssignable(cidr: Cidr, gateway: number, address: number): boolean {
  if (!cidrContains(cidr, address) || address === gateway) return false;
  if (cidr.prefix >= 31) return true;
  return address !== cidr.network && address !== broadcastAddress(cidr);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefix}`;
}
