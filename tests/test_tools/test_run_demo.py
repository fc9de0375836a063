"""tools/run_demo.py on the tiny config: the full flow once, then a second run that
reuses everything."""
import importlib.util
import json
from pathlib import Path

import cv2

RUN_DEMO = Path(__file__).resolve().parents[2] / 'tools' / 'run_demo.py'


def _load():
    spec = importlib.util.spec_from_file_location('mmdmtl_run_demo', RUN_DEMO)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_demo_flow_and_rerun_reuses_work(tmp_path, tiny_config, capsys):
    demo = _load()
    work = tmp_path / 'demo'
    argv = ['--config', str(tiny_config), '--work-dir', str(work), '--max-iters',
            '2', '--num-panels', '2']
    res = demo.main(argv)
    out = capsys.readouterr().out
    assert (work / 'final.pth').is_file()
    saved = json.loads((work / 'results.json').read_text())
    assert saved['trained_metrics'] == res['trained_metrics']
    tasks = [r['task'] for r in saved['summary']]
    assert tasks == ['semseg', 'human_parts', 'sal', 'normals', 'edge', 'depth']
    for row in saved['summary']:
        assert row['untrained'] is not None and row['refined'] is not None
        assert row['initial'] is not None
        # the verdict follows the numbers and the metric's direction
        key = f'{row["task"]}/{row["metric"]}'
        r, i = saved['trained_metrics'][f'refined/{key}'], saved[
            'trained_metrics'][f'initial/{key}']
        assert (row['refined'], row['initial']) == (r, i)
        if r != i:
            assert row['winner'] == ('refined' if (r > i) == (
                row['better'] == 'higher') else 'initial')
            assert row['margin'] == abs(r - i)
    # the two outputs are evaluated apart: a refine head changes the numbers
    assert any(row['refined'] != row['initial'] for row in saved['summary'])
    # every number's key says which output it is
    assert set(saved['trained_metrics']) and all(
        k.startswith(('refined/', 'initial/')) for k in saved['trained_metrics'])
    assert all(k.startswith('refined/') for k in saved['untrained_metrics'])
    assert sorted(saved['refined_better_tasks'] + saved['initial_better_tasks']) \
        == sorted(r['task'] for r in saved['summary'] if r['winner'] != 'tie')
    assert 'train' in saved['timings_s'] and 'eval_untrained' in saved['timings_s']
    panels = sorted((work / 'panels').glob('*.png'))
    assert len(panels) == 2
    assert cv2.imread(str(panels[0])).shape[1] >= 7 * 32 + 6 * 2  # enlarged tiles
    assert 'untrained' in out and 'trained' in out and '| semseg' in out
    assert 'initial heads' in out and 'refined (final)' in out
    assert 'refinement vs initial heads: the refined output is better on' in out
    # refined over initial panels, each image once
    compare = sorted((work / 'panels_compare').glob('*.png'))
    assert [p.name for p in compare] == [p.name for p in panels]
    top = cv2.imread(str(panels[0]))
    both = cv2.imread(str(compare[0]))
    assert both.shape[0] == 2 * (top.shape[0] + 28)
    assert (both[28:28 + top.shape[0]] == top).all()
    assert (work / 'curves.png').is_file()

    # second run: nothing is recomputed
    mtime = (work / 'final.pth').stat().st_mtime
    res2 = demo.main(argv)
    out2 = capsys.readouterr().out
    assert 'skipped' in out2 and out2.count('reused') >= 3
    assert (work / 'final.pth').stat().st_mtime == mtime
    assert res2['trained_metrics'] == res['trained_metrics']
    assert res2['untrained_metrics'] == res['untrained_metrics']


def test_compare_panels_never_writes_into_a_user_folder(tmp_path):
    """The comparison folder is claimed like every mmdmtl output folder: a
    folder holding the user's files is refused and left as it was."""
    import numpy as np
    import pytest
    from mmdmtl.utils.safe_output import OutputExistsError
    demo = _load()
    for d, v in (('ref', 10), ('ini', 200)):
        (tmp_path / d).mkdir()
        cv2.imwrite(str(tmp_path / d / 'a.png'), np.full((4, 6, 3), v, np.uint8))
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'a.png').write_bytes(b'user')
    with pytest.raises(OutputExistsError):
        demo.compare_panels(str(tmp_path / 'ref'), str(tmp_path / 'ini'), str(mine))
    assert (mine / 'a.png').read_bytes() == b'user'
    out = tmp_path / 'cmp'
    assert demo.compare_panels(str(tmp_path / 'ref'), str(tmp_path / 'ini'),
                               str(out)) == ['a.png']
    both = cv2.imread(str(out / 'a.png'))
    assert both.shape == (2 * (28 + 4), 6, 3)
    assert (both[28:32] == 10).all() and (both[60:64] == 200).all()
