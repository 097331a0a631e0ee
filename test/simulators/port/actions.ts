/**
 * Self-service actions and their runs in the Port simulator, from Port's documented API: action definitions
 * (`POST /v1/actions`, `PUT /v1/actions/:identifier`, `GET`), action runs (`GET /v1/actions/runs/:run_id`,
 * `PATCH` for status, label and links) and their logs (`POST /v1/actions/runs/:run_id/logs`, the last one ending the
 * run with `terminationStatus`). `invoke` plays Port's part in a run: it creates the run, renders the action's webhook
 * body (`{{ .run.id }}`, `{{ .inputs }}`, `{{ .entity }}`, `{{ .trigger }}` and other plain paths) and POSTs it, signed
 * like Port signs it (`x-port-timestamp`, `x-port-signature: v1,<base64 HMAC-SHA-256 of "timestamp.body">` keyed by
 * the client secret), to the action's URL.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SimError, type PortStore } from './store.js';

const ACTION_ID = /^[A-Za-z0-9@_.+:\\/=-]+$/;
const OPERATIONS = ['CREATE', 'DAY-2', 'DELETE'];
const TERMINATIONS = ['SUCCESS', 'FAILURE'];

export interface SimAction {
  identifier: string;
  title?: string;
  trigger: Record<string, unknown>;
  invocationMethod: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  [key: string]: unknown;
}

export interface SimRunLog {
  message: string;
  terminationStatus?: 'SUCCESS' | 'FAILURE';
  statusLabel?: string;
  createdAt: string;
}

export interface SimRun {
  id: string;
  action: { identifier: string };
  status: 'IN_PROGRESS' | 'SUCCESS' | 'FAILURE';
  statusLabel: string | null;
  link: string[];
  summary?: string;
  logs: SimRunLog[];
  /** How many times something ended it (a log with `terminationStatus`, or a PATCH with `status`). */
  terminations: number;
  endedAt: string | null;
  createdAt: string;
  /** A synchronized run's status is Port's to set: a PATCH of `status` answers 422 `run_synchronized_error`. */
  synchronized: boolean;
}

export interface InvokeOptions {
  inputs?: Record<string, unknown>;
  entity?: Record<string, unknown> | null;
  /** The user who runs it (`trigger.by.user.email`). */
  userEmail?: string;
  runId?: string;
  /** Seconds since the epoch to sign with (default now). */
  timestamp?: number;
  /** Replaces the action's URL (the test server's address). */
  url?: string;
}

export interface InvokeResult {
  runId: string;
  status: number;
  body: string;
}

/** `v1,<base64 HMAC-SHA-256 of "timestamp.body">`, as Port signs webhook invocations. */
export function portSignature(secret: string, timestamp: string | number, body: string): string {
  return `v1,${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('base64')}`;
}

export class ActionStore {
  readonly actions = new Map<string, SimAction>();
  readonly runs = new Map<string, SimRun>();

  constructor(private readonly store: PortStore) {}

  createRun(o: { action: string; id?: string; synchronized?: boolean }): SimRun {
    const id = o.id ?? `r_${randomBytes(8).toString('base64url')}`;
    const run: SimRun = {
      id,
      action: { identifier: o.action },
      status: 'IN_PROGRESS',
      statusLabel: null,
      link: [],
      logs: [],
      terminations: 0,
      endedAt: null,
      createdAt: new Date().toISOString(),
      synchronized: o.synchronized ?? false,
    };
    this.runs.set(id, run);
    return run;
  }

  #validate(body: unknown, pathId?: string): SimAction {
    const a = (body ?? {}) as Record<string, unknown>;
    const bad = (message: string) => new SimError(422, 'invalid_request', message);
    if (typeof a.identifier !== 'string' || !ACTION_ID.test(a.identifier)) throw bad('body.identifier must match ^[A-Za-z0-9@_.+:\\/=-]+$');
    if (pathId !== undefined && a.identifier !== pathId) throw bad('body.identifier must equal the identifier in the route');
    const trigger = a.trigger as Record<string, unknown> | undefined;
    if (!trigger || typeof trigger !== 'object') throw bad('body.trigger is required');
    if (trigger.type === 'self-service') {
      if (!OPERATIONS.includes(String(trigger.operation))) throw bad(`body.trigger.operation must be one of ${OPERATIONS.join(', ')}`);
      const inputs = trigger.userInputs as { properties?: unknown; required?: unknown } | undefined;
      if (!inputs || typeof inputs.properties !== 'object' || inputs.properties === null) throw bad('body.trigger.userInputs.properties is required');
      if (inputs.required !== undefined && !Array.isArray(inputs.required)) throw bad('body.trigger.userInputs.required must be an array');
      const bp = trigger.blueprintIdentifier;
      if (bp !== undefined && (typeof bp !== 'string' || !this.store.blueprints.has(bp))) {
        throw new SimError(404, 'not_found', `Blueprint with identifier "${String(bp)}" was not found`);
      }
    } else if (trigger.type !== 'automation') {
      throw bad('body.trigger.type must be self-service or automation');
    }
    const im = a.invocationMethod as Record<string, unknown> | undefined;
    if (!im || typeof im.type !== 'string') throw bad('body.invocationMethod.type is required');
    if (im.type === 'WEBHOOK') {
      try {
        new URL(String(im.url));
      } catch {
        throw bad('body.invocationMethod.url must be a URL');
      }
      if (im.synchronized !== undefined && typeof im.synchronized !== 'boolean') throw bad('body.invocationMethod.synchronized must be a boolean');
      if (im.body !== undefined && (typeof im.body !== 'object' || im.body === null)) throw bad('body.invocationMethod.body must be an object');
    }
    const now = new Date().toISOString();
    return { ...structuredClone(a), identifier: a.identifier, trigger, invocationMethod: im, createdAt: now, updatedAt: now };
  }

  register(app: FastifyInstance): void {
    app.get('/v1/actions', async () => ({ ok: true, actions: [...this.actions.values()].map((a) => structuredClone(a)) }));
    app.get<{ Params: { id: string } }>('/v1/actions/:id', async (req) => ({ ok: true, action: structuredClone(this.#action(req.params.id)) }));
    app.post('/v1/actions', async (req, reply) => {
      const action = this.#validate(req.body);
      if (this.actions.has(action.identifier)) throw new SimError(409, 'identifier_taken', `An action with identifier "${action.identifier}" already exists`);
      this.actions.set(action.identifier, action);
      return reply.code(201).send({ ok: true, action: structuredClone(action) });
    });
    app.put<{ Params: { id: string } }>('/v1/actions/:id', async (req) => {
      const before = this.#action(req.params.id);
      const action = { ...this.#validate(req.body, req.params.id), createdAt: before.createdAt };
      this.actions.set(action.identifier, action);
      return { ok: true, action: structuredClone(action) };
    });

    app.get<{ Params: { id: string } }>('/v1/actions/runs/:id', async (req) => ({ ok: true, run: publicRun(this.#run(req.params.id)) }));
    app.patch<{ Params: { id: string } }>('/v1/actions/runs/:id', async (req) => {
      const run = this.#run(req.params.id);
      const b = (req.body ?? {}) as Record<string, unknown>;
      const unknown = Object.keys(b).filter((k) => !['status', 'statusLabel', 'link', 'summary', 'externalRunId'].includes(k));
      if (unknown.length > 0) throw new SimError(422, 'invalid_request', `body must NOT have additional properties (${unknown.join(', ')})`);
      if (b.status !== undefined && !TERMINATIONS.includes(String(b.status))) throw new SimError(422, 'invalid_request', 'body.status must be SUCCESS or FAILURE');
      if (b.statusLabel !== undefined && typeof b.statusLabel !== 'string') throw new SimError(422, 'invalid_request', 'body.statusLabel must be a string');
      const links = b.link === undefined ? undefined : Array.isArray(b.link) ? b.link : [b.link];
      if (links && links.some((l) => typeof l !== 'string')) throw new SimError(422, 'invalid_request', 'body.link must be a string or an array of strings');
      if (b.status !== undefined && run.synchronized) throw new SimError(422, 'run_synchronized_error', 'Cannot manually change status of a synchronized action run');
      if (b.status !== undefined) this.#end(run, b.status as 'SUCCESS' | 'FAILURE');
      if (b.statusLabel !== undefined) run.statusLabel = b.statusLabel as string;
      if (links) run.link = links as string[];
      if (typeof b.summary === 'string') run.summary = b.summary;
      return { ok: true, run: publicRun(run) };
    });
    app.post<{ Params: { id: string } }>('/v1/actions/runs/:id/logs', async (req, reply) => {
      const run = this.#run(req.params.id);
      const b = (req.body ?? {}) as Record<string, unknown>;
      if (typeof b.message !== 'string' || b.message.length === 0) throw new SimError(422, 'invalid_request', 'body.message must be a non-empty string');
      if (b.terminationStatus !== undefined && !TERMINATIONS.includes(String(b.terminationStatus))) {
        throw new SimError(422, 'invalid_request', 'body.terminationStatus must be SUCCESS or FAILURE');
      }
      const log: SimRunLog = { message: b.message, createdAt: new Date().toISOString() };
      if (b.terminationStatus !== undefined) {
        log.terminationStatus = b.terminationStatus as 'SUCCESS' | 'FAILURE';
        this.#end(run, log.terminationStatus);
      }
      if (typeof b.statusLabel === 'string') {
        log.statusLabel = b.statusLabel;
        run.statusLabel = b.statusLabel;
      }
      run.logs.push(log);
      return reply.code(201).send({ ok: true, runLog: { ...log, runId: run.id } });
    });
    app.get<{ Params: { id: string } }>('/v1/actions/runs/:id/logs', async (req) => ({ ok: true, runLogs: structuredClone(this.#run(req.params.id).logs) }));
  }

  /** Plays Port's part: creates a run of the action, renders its webhook body, signs it and POSTs it to its URL. */
  async invoke(identifier: string, secret: string, o: InvokeOptions = {}): Promise<InvokeResult> {
    const action = this.#action(identifier);
    const im = action.invocationMethod;
    if (im.type !== 'WEBHOOK') throw new Error(`action ${identifier} is not a webhook action`);
    const run = this.createRun({ action: identifier, id: o.runId, synchronized: im.synchronized === true });
    const context = {
      run: { id: run.id },
      action: { identifier, blueprint: (action.trigger as { blueprintIdentifier?: string }).blueprintIdentifier },
      inputs: o.inputs ?? {},
      entity: o.entity ?? null,
      trigger: { by: { user: { email: o.userEmail ?? 'someone@example.com' } }, origin: 'UI', at: new Date().toISOString() },
    };
    const body = JSON.stringify(render(im.body ?? {}, context));
    const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000));
    const res = await fetch(o.url ?? String(im.url), {
      method: String(im.method ?? 'POST'),
      headers: { 'content-type': 'application/json', 'x-port-timestamp': timestamp, 'x-port-signature': portSignature(secret, timestamp, body) },
      body,
    });
    return { runId: run.id, status: res.status, body: await res.text() };
  }

  #end(run: SimRun, status: 'SUCCESS' | 'FAILURE'): void {
    run.status = status;
    run.endedAt = new Date().toISOString();
    run.terminations++;
  }

  #action(id: string): SimAction {
    const a = this.actions.get(id);
    if (!a) throw new SimError(404, 'not_found', `Action with identifier "${id}" was not found`);
    return a;
  }

  #run(id: string): SimRun {
    const r = this.runs.get(id);
    if (!r) throw new SimError(404, 'not_found', `Action run with id "${id}" was not found`);
    return r;
  }
}

function publicRun(run: SimRun): Omit<SimRun, 'logs' | 'terminations' | 'synchronized'> {
  const { logs: _logs, terminations: _t, synchronized: _s, ...rest } = run;
  return structuredClone(rest);
}

/** Port's `{{ jq }}` templates, for plain paths (`.run.id`, `.inputs`): a whole-string template keeps the value's type. */
function render(value: unknown, context: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*(\.[\w.]*)\s*\}\}$/.exec(value);
    if (whole) return lookup(context, whole[1]!);
    return value.replace(/\{\{\s*(\.[\w.]*)\s*\}\}/g, (_, path: string) => {
      const v = lookup(context, path);
      return typeof v === 'string' ? v : JSON.stringify(v ?? null);
    });
  }
  if (Array.isArray(value)) return value.map((v) => render(v, context));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, context)]));
  return value;
}

function lookup(context: Record<string, unknown>, path: string): unknown {
  let cur: unknown = context;
  for (const key of path.split('.').filter(Boolean)) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined;
  return cur ?? null;
}
