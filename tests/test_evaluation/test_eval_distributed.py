"""Two gloo processes on CPU give the same numbers as one process.

The worker runs as a script in a subprocess (torch.multiprocessing.spawn needs an
importable entry point; test modules are imported by path)."""
import json
import subprocess
import sys
import textwrap

import pytest

WORKER = textwrap.dedent('''
    import json, os, socket, sys
    import numpy as np
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp

    from mmdmtl.evaluation import MultiTaskGain
    from mmdmtl.structures import MultiTaskDataSample

    N = 5  # odd: rank 1 gets a padded (repeated) sample, like DefaultSampler

    def make_samples():
        g = torch.Generator().manual_seed(0)
        out = []
        for i in range(N):
            h, w = 20 + i, 24
            gt_sem = torch.randint(0, 4, (1, h, w), generator=g)
            pred_sem = torch.where(torch.rand(1, h, w, generator=g) < .7, gt_sem,
                                   torch.zeros_like(gt_sem))
            gt_parts = torch.randint(0, 3, (1, h, w), generator=g)
            gt_sal = (torch.rand(1, h, w, generator=g) > .5).long()
            nrm = torch.randn(3, h, w, generator=g)
            nrm = nrm / nrm.norm(dim=0, keepdim=True)
            gt_edge = torch.zeros(1, h, w, dtype=torch.long)
            gt_edge[0, 5 + i, 2:20] = 1
            dep = torch.rand(1, h, w, generator=g) + .5
            gts = dict(semseg=gt_sem, human_parts=gt_parts, sal=gt_sal,
                       normals=nrm, edge=gt_edge, depth=dep)
            preds = dict(semseg=pred_sem, human_parts=gt_parts.flip(-1),
                         sal=torch.rand(1, h, w, generator=g),
                         normals=nrm + .3 * torch.randn(3, h, w, generator=g),
                         edge=(gt_edge.float() * .8 + .3 * torch.rand(
                             1, h, w, generator=g)).clamp(0, 1),
                         depth=dep * 1.1)
            labeled = [t for j, t in enumerate(gts) if (i + j) % 3]  # partial
            ds = MultiTaskDataSample(metainfo=dict(img_path=f'{i}.png',
                                                   labeled_tasks=tuple(labeled)))
            for t in gts:
                ds.set_pred(t, preds[t])
                if t in labeled:
                    ds.set_gt(t, gts[t])
            out.append(ds.to_dict())
        return out

    def build():
        return MultiTaskGain(
            reference='pascal_context_one_label',
            task_metrics=[dict(type='SemSegMetric', num_classes=4),
                     dict(type='HumanPartsMetric', num_classes=3),
                     dict(type='SaliencyMetric'),
                     dict(type='NormalsMetric'),
                     dict(type='EdgeMetric', thresholds=3, backend='scipy'),
                     dict(type='DepthMetric')])

    def worker(rank, port, out):
        torch.set_num_threads(1)
        dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                                rank=rank, world_size=2)
        samples = make_samples()
        idx = list(range(N)) + [0]  # padded to 6 = 2 x 3
        mine = idx[rank::2]
        m = build()
        for k in mine:  # one sample per batch
            m.process({}, [samples[k]])
        res = m.evaluate(N)
        with open(os.path.join(out, f'rank{rank}.json'), 'w') as f:
            json.dump(res, f)
        dist.barrier()
        dist.destroy_process_group()

    if __name__ == '__main__':
        out = sys.argv[1]
        m = build()
        m.process({}, make_samples()[:2])
        m.process({}, make_samples()[2:])
        with open(os.path.join(out, 'single.json'), 'w') as f:
            json.dump(m.evaluate(N), f)
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        mp.spawn(worker, args=(port, out), nprocs=2, join=True)
''')


def test_two_gloo_processes_equal_one(tmp_path):
    script = tmp_path / 'worker.py'
    script.write_text(WORKER)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    single = json.loads((tmp_path / 'single.json').read_text())
    for rank in (0, 1):
        dist = json.loads((tmp_path / f'rank{rank}.json').read_text())
        assert dist.keys() == single.keys()
        for k, v in single.items():
            assert dist[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k
    assert 'multi_task/delta_m' in single and 'edge/odsF' in single
