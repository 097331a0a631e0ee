import { pino, destination as pinoDestination, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are secrets; pino replaces them wherever they appear in a log object. */
export const REDACTED_PATHS = [
  'pat',
  'token',
  'accessToken',
  'clientSecret',
  'password',
  'secret',
  'authorization',
  '*.pat',
  '*.token',
  '*.accessToken',
  '*.clientSecret',
  '*.password',
  '*.secret',
  '*.authorization',
  'headers.authorization',
];

/** Logs go to stderr so that stdout stays clean for entity output. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: undefined,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return pino(options, destination ?? pinoDestination({ fd: 2, sync: true }));
}

export const silentLogger: Logger = pino({ level: 'silent' });
