/** Bad input from the user (config, flags, mapping payloads): the CLI exits 2. */
export class UserInputError extends Error {
  override name = 'UserInputError';
}

/** Replaces every occurrence of the given secrets in a message, so errors never echo credentials. */
export function scrubSecrets(message: string, secrets: Iterable<string | undefined>): string {
  let out = message;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    out = out.split(secret).join('[redacted]');
    const b64 = Buffer.from(`:${secret}`).toString('base64');
    out = out.split(b64).join('[redacted]');
  }
  return out;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
