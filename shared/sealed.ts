import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encryption of values a client can later ask for again by presenting the secret they alone hold
 * (their Idempotency-Key): a stored answer, a hold's token. The AES-256-GCM key is derived from
 * that secret and a context naming where the value is used, so Redis alone reveals nothing.
 */
export function sealingKey(secret: string, context: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, context, purpose, 32));
}

export function seal(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64')).join('.');
}

export function unseal(key: Buffer, sealed: string): string {
  const [iv, tag, data] = sealed.split('.').map((part) => Buffer.from(part, 'base64'));
  const decipher = createDecipheriv('aes-256-gcm', key, iv!);
  decipher.setAuthTag(tag!);
  return Buffer.concat([decipher.update(data!), decipher.final()]).toString('utf8');
}
