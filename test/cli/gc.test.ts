import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWorkspace, removeWorkspace } from '../../src/activities/workspace';
import { cadre } from '../support/cli';
import { git } from '../support/repo';
import { tmp } from '../support/tmp';

describe('cadre gc --list', () => {
  it('lists rescue refs from git alone, with no Temporal server to reach', async () => {
    const repo = tmp('repo');
    git(repo, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(repo, 'README.md'), '# demo\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'initial');
    const stateDir = tmp('state');
    const ws = await createWorkspace({ stateDir, repo, agentId: 'run-g/a', baseRef: 'main', worktreePool: 0 });
    fs.writeFileSync(path.join(ws.path, 'draft.txt'), 'unsaved\n');
    const { rescue } = await removeWorkspace({ stateDir, repo, path: ws.path });
    expect(rescue).toBeDefined();

    // Port 1 has no server: a command that tried to connect (or start the embedded one) would fail or hang.
    const r = await cadre(['gc', '--list', '--repo', repo], { CADRE_STATE_DIR: stateDir, TEMPORAL_ADDRESS: '127.0.0.1:1' }, 60_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [line, summary] = r.stdout.trim().split('\n');
    expect(line.split('\t')).toEqual([fs.realpathSync(repo), rescue!.ref, 'cadre/run-g.a', expect.any(String), rescue!.commit, 'uncommitted changes']);
    expect(summary).toBe('1 rescue ref(s) in 1 repository');
  });
});
