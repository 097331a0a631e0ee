/**
 * sim.changes: an edit survives however many other work items are read (the simulator drops its cache of generated
 * records past 50,000; an edited record must not be regenerated), and shows over HTTP with a moved ChangedDate.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { workOf } from './ado/data/work.js';
import { startAdoSimulator, type AdoSimulator } from './ado/index.js';

describe('ado simulator changes', () => {
  let sim: AdoSimulator;
  beforeAll(async () => {
    sim = await startAdoSimulator({ scale: { projects: 2, reposPerProject: 1, workItemsPerProject: 30_000 } });
  });
  afterAll(() => sim.close());

  it('keeps an edited work item through the record cache being cleared', async () => {
    const at = new Date('2026-12-05T10:00:00Z');
    sim.changes.editWorkItem(5, { at, fields: { 'System.Title': 'Edited by a test' } });
    const work = workOf(sim.dataset.org('acme')!);
    for (let id = 6; id <= 60_000; id++) work.workItemRecord(id);
    const project = sim.dataset.org('acme')!.projects.record(0);
    const res = await fetch(`${sim.orgUrl()}/${project.id}/_apis/wit/workitems?ids=5&api-version=7.1`, { headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}` } });
    const item = ((await res.json()) as { value: Array<{ fields: Record<string, unknown> }> }).value[0]!;
    expect(item.fields['System.Title']).toBe('Edited by a test');
    expect(Date.parse(String(item.fields['System.ChangedDate']))).toBe(at.getTime());
  });

  it('a WIQL query that needs a ChangedDate after the dataset was made matches the edited items, and an OR without that bound still reads every item', async () => {
    const org = sim.dataset.org('acme')!;
    // After the dataset's reference time and after the edit of the test above.
    const after = new Date(Math.max(org.ctx.referenceMs, Date.parse('2026-12-05T10:00:00Z')) + 60_000);
    sim.changes.editWorkItem(40_001, { at: new Date(after.getTime() + 1000) });
    const project = org.projects.record(0);
    const wiql = async (where: string) => {
      const res = await fetch(`${sim.orgUrl()}/${project.id}/_apis/wit/wiql?timePrecision=true&api-version=7.1`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`:${sim.pat}`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: `SELECT [System.Id] FROM WorkItems WHERE ${where}` }),
      });
      return ((await res.json()) as { workItems: Array<{ id: number }> }).workItems.map((w) => w.id);
    };
    const since = `[System.ChangedDate] >= '${after.toISOString()}'`;
    expect(await wiql(since)).toEqual([40_001]);
    expect(await wiql(`[System.Id] < 100000 AND ${since}`)).toEqual([40_001]);
    // Item 7 was never edited: only a scan of every item finds it.
    expect(await wiql(`${since} OR [System.Id] = 7`)).toEqual([7, 40_001]);
    expect(await wiql(`NOT (${since}) AND [System.Id] = 7`)).toEqual([7]);
  });
});
