"""tools/dist_train.sh CONFIG 2 and tools/dist_test.sh on this CPU-only machine."""
import json
import random
import shutil

import pytest


@pytest.mark.skipif(shutil.which('bash') is None, reason='needs bash')
def test_dist_train_and_test_two_cpu_processes(tmp_path, tiny_config, tools):
    work = tmp_path / 'work'
    port = str(random.randint(29600, 29900))
    proc = tools.run(
        ['bash', 'tools/dist_train.sh', str(tiny_config), '2', '--work-dir',
         str(work)],
        env_extra=dict(PORT=port, PYTHON=tools.python), timeout=400)
    text = proc.stdout + proc.stderr
    assert (work / 'iter_4.pth').is_file()
    # both ranks ran, under gloo, in one world of 2
    assert "'backend': 'gloo'" in text
    assert 'Distributed training: True' in text
    assert 'GPU number: 2' in text  # MMEngine's name for the world size
    logs = sorted(work.rglob('vis_data/scalars.json'))
    steps = [json.loads(x)['step'] for x in logs[-1].read_text().splitlines()
             if 'loss' in json.loads(x)]
    assert steps == [1, 2, 3, 4]

    out = tmp_path / 'out'
    tools.run(
        ['bash', 'tools/dist_test.sh', str(tiny_config), str(work / 'iter_4.pth'),
         '2', '--work-dir', str(tmp_path / 'test'), '--out', str(out)],
        env_extra=dict(PORT=str(int(port) + 1), PYTHON=tools.python), timeout=400)
    metrics = json.loads((out / 'metrics.json').read_text())
    assert any(k.startswith('semseg/') for k in metrics)
    # the 4 val images are split over the 2 ranks, each written once
    assert len(list((out / 'semseg').glob('*.png'))) == 4
