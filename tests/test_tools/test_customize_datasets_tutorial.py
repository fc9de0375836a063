"""docs/customize_datasets.md, run as written: folders -> split -> browse -> train ->
test -> demo, on a tiny generated dataset (20 images of 40x56) with a tiny version of
the tutorial's config (narrow ResNet-18, 4 iterations)."""
import json
import re
import shlex

REPO_DOC = 'docs/customize_datasets.md'
CONFIG = 'configs/custom_dataset/diffusionmtl-feature_r18_my-dataset_one-label.py'
NAME = 'diffusionmtl-feature_r18_my-dataset_one-label'
CKPT = f'work_dirs/{NAME}/iter_2000.pth'

# The tiny override: every setting of the tutorial config is kept (folders, tasks,
# decoders, partial labels, sampler, evaluator) except sizes and iterations.
TINY = """
_base_ = [{base!r}]
model = dict(channels=16, backbone=dict(base_channels=8, stem_channels=8),
             neck=dict(in_channels=[8, 16, 32, 64]), refine_head=dict(num_heads=2))
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
param_scheduler = [dict(type='PolyLR', power=0.9, by_epoch=False, end=4)]
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4))
"""


def _doc(tools):
    return (tools.repo / REPO_DOC).read_text()


def _shell_commands(doc):
    blocks = re.findall(r'```shell\n(.*?)```', doc, flags=re.S)
    return [line.strip() for b in blocks for line in b.splitlines()
            if line.strip() and not line.startswith('#')]


def test_the_config_in_the_docs_is_the_file_and_short(tools):
    text = (tools.repo / CONFIG).read_text()
    assert f'```python\n{text}```' in _doc(tools)
    assert len(text.splitlines()) < 40


def test_tutorial_runs_end_to_end(tools, tmp_path):
    doc = _doc(tools)
    cmds = _shell_commands(doc)
    # the commands of the page, in order: data, split, browse, train, test, demo
    assert [c.split()[1] for c in cmds] == [
        'tools/dataset_converters/make_folder_example.py',
        'tools/dataset_converters/make_partial_split.py',
        'tools/misc/browse_dataset.py', 'tools/train.py', 'tools/test.py',
        'demo/image_demo.py']
    tiny = tmp_path / 'tiny.py'
    tiny.write_text(TINY.format(base=str(tools.repo / CONFIG)))
    for cmd in cmds:
        args = shlex.split(cmd)
        args[0] = tools.python
        args[1] = str(tools.repo / args[1])  # the tools of the repo, cwd = tmp
        args = [str(tiny) if a == CONFIG else a for a in args]
        if args[1].endswith('make_folder_example.py'):
            args = args[:3] + ['--num-train', '16', '--num-val', '4',
                               '--size', '40', '56']
        args = [a.replace(NAME, 'tiny').replace('iter_2000', 'iter_4')
                for a in args]
        if args[1].endswith('image_demo.py'):
            args[2] = 'data/my_dataset/images/0016.jpg'  # the first val image
            args += ['--device', 'cpu']
        proc = tools.run(args, cwd=tmp_path, timeout=240)
        if args[1].endswith('make_partial_split.py'):
            split = json.loads(
                (tmp_path / 'data/my_dataset/splits/train_one_label.json').read_text())
            assert len(split) == 16 and all(len(v) == 1 for v in split.values())
        if args[1].endswith('test.py'):
            out = proc.stdout + proc.stderr
            assert 'semseg/mIoU' in out and 'depth/' in out
    work = tmp_path / 'work_dirs' / 'tiny'
    assert (work / 'iter_4.pth').is_file()
    assert list(work.glob('best_semseg_mIoU_iter_4.pth'))
    assert len(list((tmp_path / 'work_dirs/my_dataset_browse').glob('*.png'))) == 4
    demo = tmp_path / 'work_dirs' / 'image_demo' / 'tiny'
    assert (demo / 'vis' / '0016.png').is_file()
    assert (demo / 'preds' / 'semseg' / '0016.png').is_file()
    assert (demo / 'preds' / 'depth' / '0016.png').is_file()
