"""The package's import graph: layers import downwards only, and no module-level
import cycle exists (read from the source with ``ast``, nothing is imported)."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / 'mmdmtl'

# Lower numbers are lower layers; a package may import only strictly lower ones.
LAYERS = {
    'mmdmtl.version': 0, 'mmdmtl.version_check': 0, 'mmdmtl.registry': 0,
    'mmdmtl.structures': 1, 'mmdmtl.utils': 2,
    'mmdmtl.datasets': 3, 'mmdmtl.models': 3, 'mmdmtl.evaluation': 3,
    'mmdmtl.visualization': 3, 'mmdmtl.testing': 4, 'mmdmtl.engine': 4,
    'mmdmtl.apis': 5, 'mmdmtl': 6,
}
# The registration entry point imports every layer lazily (as mmseg's own
# register_all_modules does); it is the one upward import, and never of apis.
UPWARD_ALLOWED = {('mmdmtl/utils/set_env.py', 'register_all_modules')}


def _module_name(path: Path, pkg: Path):
    rel = path.relative_to(pkg.parent).with_suffix('')
    parts = list(rel.parts)
    is_pkg = parts[-1] == '__init__'
    if is_pkg:
        parts = parts[:-1]
    return '.'.join(parts), is_pkg


def _imports(path: Path, pkg: Path):
    """(target module, enclosing function or None) for every mmdmtl import."""
    name, is_pkg = _module_name(path, pkg)
    tree = ast.parse(path.read_text())
    out = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            f = child.name if isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            targets = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name.split('.')
                    base = base[:len(base) - child.level + int(is_pkg)]
                    mod = '.'.join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ''
                # `from pkg import submodule` imports the submodule
                subs = [f'{mod}.{a.name}' for a in child.names
                        if _exists(f'{mod}.{a.name}', pkg)]
                targets = subs or [mod]
            out.extend((t, f) for t in targets if t.split('.')[0] == 'mmdmtl')
            visit(child, f)

    visit(tree, None)
    return out


def _exists(mod: str, pkg: Path) -> bool:
    p = pkg.parent.joinpath(*mod.split('.'))
    return p.with_suffix('.py').is_file() or (p / '__init__.py').is_file()


def _layer_of(mod: str) -> str:
    parts = mod.split('.')
    return '.'.join(parts[:2]) if len(parts) > 1 else parts[0]


def _all_imports(pkg: Path):
    for path in sorted(pkg.rglob('*.py')):
        yield path, _module_name(path, pkg)[0], _imports(path, pkg)


def upward_imports(pkg: Path = PKG):
    bad = []
    for path, mod, imports in _all_imports(pkg):
        src = _layer_of(mod)
        rel = str(path.relative_to(pkg.parent))
        for target, func in imports:
            dst = _layer_of(target)
            assert dst in LAYERS, f'{dst} (imported by {rel}) has no layer'
            if src == dst or LAYERS[dst] < LAYERS[src]:
                continue
            if (rel, func) in UPWARD_ALLOWED and dst != 'mmdmtl.apis':
                continue
            bad.append(f'{rel} ({func or "module level"}) imports {target}')
    return bad


def import_cycle(pkg: Path = PKG):
    """The first module-level import cycle found, or None; and the module count."""
    graph = {}
    for _, mod, imports in _all_imports(pkg):
        graph[mod] = {t for t, func in imports if func is None and t != mod}
    state, stack = {}, []

    def dfs(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = dfs(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            found = dfs(node)
            if found:
                return found, len(graph)
    return None, len(graph)


def test_layers_import_downwards_only():
    bad = upward_imports()
    assert not bad, 'upward imports:\n' + '\n'.join(bad)


def test_no_module_level_import_cycle():
    cycle, n = import_cycle()
    assert n > 50  # the walk saw the package
    assert cycle is None, 'import cycle: ' + ' -> '.join(cycle)


def test_the_checker_sees_an_upward_import_and_a_cycle(tmp_path):
    """The rules can fail: a utils module importing apis (even lazily) is
    reported, and so is a module-level cycle."""
    fake = tmp_path / 'mmdmtl'
    (fake / 'utils').mkdir(parents=True)
    (fake / 'apis').mkdir()
    for p in (fake / '__init__.py', fake / 'utils' / '__init__.py',
              fake / 'apis' / '__init__.py'):
        p.write_text('')
    (fake / 'utils' / 'x.py').write_text('def f():\n    from mmdmtl.apis import y\n')
    (fake / 'apis' / 'y.py').write_text('from mmdmtl.utils import x\n')
    assert upward_imports(fake) == ['mmdmtl/utils/x.py (f) imports mmdmtl.apis.y']
    assert import_cycle(fake)[0] is None  # the lazy import is no cycle
    (fake / 'utils' / 'x.py').write_text('from mmdmtl.apis import y\n')
    assert import_cycle(fake)[0] == ['mmdmtl.apis.y', 'mmdmtl.utils.x',
                                     'mmdmtl.apis.y']
