"""Training never runs silently wrong: the dataset and the model are checked before
the first iteration, with messages naming the config key (values of one object are
checked by its constructor: tests/test_models)."""
import pytest

from mmdmtl.utils.config_checks import ConfigCheckError, check_tasks_agree


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes
    root = tmp_path_factory.mktemp('scenes') / 'root'
    generate_synthetic_scenes(str(root), num_train=6, num_val=2, size=(16, 16))
    return root


def _dataset(root, **kw):
    from mmdmtl.datasets import SyntheticScenesDataset
    return SyntheticScenesDataset(data_root=str(root), split='train', pipeline=[],
                                  **kw)


def test_task_without_labels_in_the_split(scenes):
    ds = _dataset(scenes, tasks=('semseg', 'depth'))
    with pytest.raises(ConfigCheckError) as err:
        check_tasks_agree(('semseg', 'depth', 'edge'), ds)
    msg = str(err.value)
    assert "['edge']" in msg and '0 of 6 images' in msg and 'split' in msg
    assert 'zero_shot_tasks' in msg and str(scenes) in msg
    # the explicit opt-out for a deliberate zero-shot task
    check_tasks_agree(('semseg', 'depth', 'edge'), ds, zero_shot_tasks=['edge'])


def test_labelled_task_without_head(scenes):
    ds = _dataset(scenes, tasks=('semseg', 'depth'))
    with pytest.raises(ConfigCheckError, match=r"labels \['depth'\].*no head"):
        check_tasks_agree(('semseg', ), ds)


def _tiny_cfg(tmp_path, scenes, **extra):
    from mmengine.config import Config
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    demo = repo / 'configs' / 'diffusionmtl' / \
        'demo_diffusionmtl-feature_synthetic_one-label.py'
    text = f"""
_base_ = [{str(demo)!r}]
data_root = {str(scenes)!r}
generate = dict(num_train=6, num_val=2, size=(16, 16), seed=0)
model = dict(channels=16, refine_head=dict(num_heads=2))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, generate=generate))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, generate=generate))
test_dataloader = val_dataloader
max_iters = 2
param_scheduler = []
train_cfg = dict(max_iters=max_iters, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
"""
    path = tmp_path / 'tiny.py'
    path.write_text(text)
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.merge_from_dict(extra)
    return cfg


def test_hook_stops_before_the_first_iteration(tmp_path, scenes):
    """A config whose split does not label edge: the Runner stops at before_train,
    no iteration runs and no checkpoint is written."""
    from mmengine.runner import Runner
    cfg = _tiny_cfg(tmp_path, scenes, **{
        'train_dataloader.dataset.tasks': ('semseg', 'human_parts', 'sal',
                                           'normals', 'depth'),
        'train_dataloader.dataset.label_setting': 'full',
        'train_dataloader.batch_sampler': None})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ConfigCheckError, match="model.tasks has \\['edge'\\]"):
        runner.train()
    assert runner.iter == 0
    assert not list((tmp_path / 'work').glob('*.pth'))
