// Crypto primitives shared by every certificate nkd issues (cluster PKI, Ignition service): key
// generation, serials, PEM encoding, and the lazily loaded @peculiar/x509 (most runs never need it).
import { randomBytes, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

export type X509Lib = typeof X509;
export type KeyPair = webcrypto.CryptoKeyPair;

/** ECDSA P-256 with SHA-256: fast to generate, accepted by kubeadm for CAs and by Ignition for TLS. */
export const EC_KEYGEN: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
export const EC_SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

let x509Lib: Promise<X509Lib> | undefined;

/** Loads @peculiar/x509 once, after reflect-metadata (its DI container requires it). */
export function loadX509(): Promise<X509Lib> {
  x509Lib ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    // Node's WebCrypto explicitly, not a global `crypto`. The cast bridges Node's and the DOM's
    // Crypto typings, which differ in detail.
    x509.cryptoProvider.set(webcrypto as never);
    return x509;
  })();
  return x509Lib;
}

/** 128-bit random positive serial: top bit cleared, first byte non-zero, so it stays 16 bytes. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

export function generateEcKeyPair(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(EC_KEYGEN, true, ['sign', 'verify']) as Promise<KeyPair>;
}

/** Wraps DER bytes as PEM with 64-character lines, the same layout Node's KeyObject.export uses. */
export function derToPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return derToPem(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

export function addYears(date: Date, years: number): Date {
  const out = new Date(date.getTime());
  out.setUTCFullYear(out.getUTCFullYear() + years);
  return out;
}
