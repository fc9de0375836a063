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
    # MMEngine's name for the world size, explained on a CPU run
    assert 'GPU number: 2' in text and 'no GPU is used' in text
    logs = sorted(work.rglob('vis_data/scalars.json'))
    records = [json.loads(x) for x in logs[-1].read_text().splitlines()]
    steps = [r['step'] for r in records if 'loss' in r]
    assert steps == [1, 2, 3, 4]
    val = [r for r in records if 'semseg/mIoU' in r]
    assert [r['step'] for r in val] == [4]

    out = tmp_path / 'out'
    tools.run(
        ['bash', 'tools/dist_test.sh', str(tiny_config), str(work / 'iter_4.pth'),
         '2', '--work-dir', str(tmp_path / 'test'), '--out', str(out)],
        env_extra=dict(PORT=str(int(port) + 1), PYTHON=tools.python), timeout=400)
    metrics = json.loads((out / 'metrics.json').read_text())
    assert any(k.startswith('semseg/') for k in metrics)
    # the 4 val images are split over the 2 ranks, each written once
    assert len(list((out / 'semseg').glob('*.png'))) == 4
    # Validation during training evaluated the weights that were saved: the
    # BatchNorm statistics of both ranks were averaged before validation and
    # before the checkpoint (SyncBuffersHook), so the saved file reproduces the
    # val metrics, in 2 processes and in one (the val split is the test split).
    single = tmp_path / 'out_single'
    tools.run([tools.python, 'tools/test.py', str(tiny_config),
               str(work / 'iter_4.pth'), '--work-dir', str(tmp_path / 'test1'),
               '--out', str(single)])
    single_metrics = json.loads((single / 'metrics.json').read_text())
    for key, value in metrics.items():
        assert val[0][key] == pytest.approx(value, rel=1e-6, abs=1e-6), key
        assert single_metrics[key] == pytest.approx(value, rel=1e-6, abs=1e-6), key
