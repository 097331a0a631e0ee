import { pino, destination as pinoDestination, stdTimeFunctions, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { UserInputError } from '../util/errors.js';
import { statusLine } from './statusLine.js';

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

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function assertLogLevel(level: string, source = '--log-level / LOG_LEVEL'): void {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UserInputError(`${source}: "${level}" is not a log level (${LOG_LEVELS.join(', ')})`);
  }
}

export function assertLogFormat(format: string, source = '--log-format / LOG_FORMAT'): asserts format is LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new UserInputError(`${source}: "${format}" is not a log format (pretty or json)`);
  }
}

/** Pretty on a terminal, JSON elsewhere (containers, CI, files): what reads the logs decides. */
export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY ? 'pretty' : 'json';
}

export interface LoggerSetup {
  format?: LogFormat;
  /** Where lines go (tests capture them); default stderr, so that stdout stays clean for entity output. */
  destination?: DestinationStream;
}

/** JSON lines with an ISO time and the level's name; or one readable line per event (`pretty`). */
export function createLogger(level = 'info', setup: LoggerSetup | DestinationStream = {}): Logger {
  const o: LoggerSetup = 'write' in setup ? { destination: setup } : setup;
  assertLogLevel(level);
  const format = o.format ?? 'json';
  const options: LoggerOptions = {
    level,
    base: undefined,
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  const out = o.destination ?? (format === 'pretty' ? prettyStderr() : pinoDestination({ fd: 2, sync: true }));
  return pino(options, format === 'pretty' && o.destination ? prettyTo(o.destination) : out);
}

export const silentLogger: Logger = pino({ level: 'silent' });

/** The logger of a command: the configured level, and the configured format or the one that suits stderr. */
export function commandLogger(settings: { logLevel: string; logFormat?: LogFormat }): Logger {
  return createLogger(settings.logLevel, { format: settings.logFormat ?? defaultLogFormat() });
}

const LEVEL_TEXT: Record<string, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR', fatal: 'FATAL' };
const COLOR: Record<string, string> = { warn: '\x1b[33m', error: '\x1b[31m', fatal: '\x1b[31m', debug: '\x1b[90m', trace: '\x1b[90m' };

/**
 * One line per event: local time, level, the message first, then the other fields as key=value (a later value of a
 * key wins, so a binding repeated by a call shows once).
 */
export function formatPretty(line: string, color = false): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, ...fields } = rec;
  const at = typeof time === 'string' ? new Date(time) : new Date();
  const clock = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  const lvl = String(level);
  const label = LEVEL_TEXT[lvl] ?? lvl.toUpperCase();
  const rest = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  const head = color && COLOR[lvl] ? `${COLOR[lvl]}${label}\x1b[0m` : label;
  return `${clock} ${head} ${String(msg ?? '')}${rest ? `  ${rest}` : ''}\n`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Writes pretty lines to stderr, around the live status line if one is showing. */
function prettyStderr(): DestinationStream {
  const color = process.stderr.isTTY === true && !process.env.NO_COLOR;
  return { write: (line: string) => statusLine.print(formatPretty(line, color)) };
}

function prettyTo(dest: DestinationStream): DestinationStream {
  return { write: (line: string) => dest.write(formatPretty(line)) };
}
