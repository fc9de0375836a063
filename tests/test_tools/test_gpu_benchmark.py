"""The GPU benchmark command and its kit, on CPU: the dry run of
tools/analysis_tools/gpu_benchmark.sh (every step of the GPU run at a tiny size),
its install step and errors, the report, and the kit's requirement check
(tools/misc/gpu_kit_deps.py). Building the kit itself (tools/misc/gpu_kit.sh:
a multi-GB torch download and a 10-minute mmcv build) is not run here."""
import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'analysis_tools' / 'gpu_benchmark.sh'
MODES = {'loop', 'fp32', 'fast', 'compile'}


def _load(rel, name):
    spec = importlib.util.spec_from_file_location(name, REPO / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run_script(args, env_extra=None, timeout=120):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1', **(env_extra or {}))
    return subprocess.run(['bash', str(SCRIPT)] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('gpu_dry_run')
    proc = _run_script(['--device', 'cpu', '--out', str(out)], timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    return out


def test_dry_run_measures_every_mode(dry_run):
    out = dry_run
    log = (out / 'gpu_benchmark.log').read_text()
    # the stack imports here: the kit is not needed and not installed
    assert '[kit] the stack imports: nothing to install' in log
    report = json.loads((out / 'bare_step.json').read_text())
    assert 'partial' not in report
    assert set(report['train']) == MODES
    assert MODES <= set(report['infer'])
    assert report['infer_batch_size'] == 1 and report['setting'] == 'one_label'
    assert '--compile-backend aot_eager' in report['command']
    for part in ('train', 'infer'):
        for mode in MODES:
            res = report[part][mode]
            assert res['best_s'] > 0 and res['flops'] > 0, (part, mode)
            assert res['peak_ratio'] is not None, (part, mode)
        # the same network in fp32 and AMP: the same convolution FLOPs; the
        # compiled mode takes the fast mode's count (not traced again)
        conv = {k: v for k, v in report[part]['fp32']['flops_by_op'].items()
                if 'convolution' in k}
        assert conv and conv == {
            k: v for k, v in report[part]['fast']['flops_by_op'].items()
            if 'convolution' in k}
        assert report[part]['compile']['flops_from'] == 'fast'
        assert report[part]['compile']['flops'] == report[part]['fast']['flops']
    env = (out / 'env.txt').read_text()
    assert 'mmcv: 2.1.0' in env and 'torch:' in env


def test_dry_run_report(dry_run):
    out = dry_run
    md = (out / 'gpu.md').read_text()
    assert md.startswith('# mmdmtl on ')
    for label in ('per-sample loop', 'mmdmtl batched, fp32', 'mmdmtl AMP',
                  'mmdmtl AMP + torch.compile'):
        assert f'| {label}' in md, label
    assert '| training step | compile |' in md and '| inference | loop |' in md
    assert 'Whole run:' in md
    # no end-to-end part in the dry run, and the report says so
    assert not (out / 'tools.json').exists() and 'Not run' in md


def test_report_of_a_cut_off_run(dry_run, tmp_path):
    out = dry_run
    report = json.loads((out / 'bare_step.json').read_text())
    report['partial'] = True
    del report['machine']['load_at_end']
    for part in ('train', 'infer'):
        report[part] = {k: v for k, v in report[part].items() if k == 'loop'}
    (tmp_path / 'bare_step.json').write_text(json.dumps(report))
    gpu_report = _load('tools/analysis_tools/gpu_report.py', 'gpu_report_t')
    md = gpu_report.main([str(tmp_path), '--note', 'cut off at 450 s'])
    assert 'Partial: the run was cut off' in md and 'cut off at 450 s' in md
    assert '| per-sample loop' in md and '| mmdmtl batched' not in md


@pytest.fixture
def broken_stack(tmp_path):
    """A PYTHONPATH on which mmcv does not import."""
    fake = tmp_path / 'fake'
    (fake / 'mmcv').mkdir(parents=True)
    (fake / 'mmcv' / '__init__.py').write_text(
        "raise ImportError('no mmcv on this machine')\n")
    return dict(PYTHONPATH=str(fake))


def test_no_stack_and_no_kit_is_a_one_line_error(broken_stack, tmp_path):
    proc = _run_script(['--device', 'cpu', '--out', str(tmp_path / 'o'),
                        '--kit', str(tmp_path / 'no_kit')], broken_stack)
    assert proc.returncode == 1
    assert 'no mmcv on this machine' in proc.stderr
    assert 'tools/misc/gpu_kit.sh' in proc.stderr
    assert 'Traceback' not in proc.stderr


def _wheel(path, name, version, requires=(), files=None):
    """A minimal wheel (what pip and gpu_kit_deps.py read of one)."""
    info = f'{name}-{version}.dist-info'
    meta = f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n' + ''.join(
        f'Requires-Dist: {r}\n' for r in requires)
    files = dict(files or {f'{name}/__init__.py': ''})
    files[f'{info}/METADATA'] = meta
    files[f'{info}/WHEEL'] = ('Wheel-Version: 1.0\nGenerator: test\n'
                              'Root-Is-Purelib: true\nTag: py3-none-any\n')
    files[f'{info}/RECORD'] = ''.join(f'{f},,\n' for f in files) + \
        f'{info}/RECORD,,\n'
    whl = path / f'{name}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(whl, 'w') as z:
        for f, text in files.items():
            z.writestr(f, text)
    return whl


def test_kit_is_installed_offline_when_the_stack_does_not_import(
        broken_stack, tmp_path):
    kit = tmp_path / 'kit'
    kit.mkdir()
    _wheel(kit, 'kit_probe_pkg', '1.0')
    site = tmp_path / 'site'
    proc = _run_script(['--device', 'cpu', '--out', str(tmp_path / 'o'),
                        '--kit', str(kit), '--site', str(site)], broken_stack)
    # the kit's wheel went in with pip --no-index --target; this kit lacks
    # mmcv, so the stack still does not import, and the error says so
    assert (site / 'kit_probe_pkg' / '__init__.py').is_file()
    assert proc.returncode == 1
    assert 'is installed in' in proc.stderr and 'still does not import' in \
        proc.stderr and 'Traceback' not in proc.stderr


def test_bad_arguments(tmp_path):
    proc = _run_script(['--device', 'tpu'], {})
    assert proc.returncode == 1 and "--device is cuda or cpu, not 'tpu'" in \
        proc.stderr
    proc = _run_script(['--frobnicate'], {})
    assert proc.returncode == 1 and "unknown argument '--frobnicate'" in \
        proc.stderr


@pytest.fixture(scope='module')
def deps():
    return _load('tools/misc/gpu_kit_deps.py', 'gpu_kit_deps_t')


def test_kit_requirements_closure(deps, tmp_path):
    _wheel(tmp_path, 'mmengine', '0.10.7',
           ['addict', 'numpy', 'opencv-python>=3', 'regex; sys_platform == "win32"'])
    _wheel(tmp_path, 'addict', '2.4.0')
    _wheel(tmp_path, 'yapf', '0.43.0',
           ['platformdirs>=3.5.1', 'tomli>=2.0.1; python_version < "3.11"',
            'pytest; extra == "test"'])
    req = tmp_path / 'runtime.txt'
    req.write_text('# a comment\nnumpy>=1.24\nscipy>=1.10  # inline\n')
    problems, host = deps.check(str(tmp_path), [str(req)])
    # platformdirs is neither in the kit nor on the machine; tomli (Python <
    # 3.11), regex (Windows) and pytest (an extra) are not required there;
    # opencv-python is met by the machine's opencv-python-headless
    assert problems == [
        'yapf-0.43.0-py3-none-any.whl requires platformdirs, which is neither '
        'in the kit nor on the GPU machine: add a wheel of it to the kit '
        '(tools/misc/gpu_kit.sh)']
    assert host == {'numpy', 'scipy', 'opencv-python-headless'}
    _wheel(tmp_path, 'platformdirs', '4.14.9')
    assert deps.check(str(tmp_path), [str(req)])[0] == []
    assert deps.main([str(tmp_path), '--print-host']) == 0


def test_kit_refuses_duplicates_shadowing_and_wrong_versions(deps, tmp_path):
    _wheel(tmp_path, 'addict', '2.4.0')
    _wheel(tmp_path, 'addict', '2.3.0')
    _wheel(tmp_path, 'numpy', '2.2.6')
    _wheel(tmp_path, 'mmengine', '0.10.7', ['addict>=3'])
    problems, _ = deps.check(str(tmp_path), [])
    text = '\n'.join(problems)
    assert 'a second version of addict' in text
    assert 'numpy is already on the GPU machine' in text
    assert 'requires addict>=3; the kit has addict' in text
    assert deps.main([str(tmp_path)]) == 1
    assert deps.check(str(tmp_path / 'empty'), [])[0] == [
        f'{tmp_path / "empty"}: no wheels']
