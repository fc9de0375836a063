import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register mmseg's modules, then mmdmtl's, and optionally make ``mmdmtl`` the
    default scope.

    mmseg's go first so that our child registries see a populated ``mmseg`` sibling
    (configs name its types as ``mmseg.X``). mmpretrain's types (``mmpretrain.X``) are
    imported lazily by mmpretrain's own registry locations on first use, and so is
    ``mmdmtl.apis`` (the INFERENCERS registry's location): the utils layer never
    imports the apis layer.
    """
    from mmseg.utils import register_all_modules as register_mmseg_modules
    register_mmseg_modules(init_default_scope=False)

    import mmdmtl.datasets  # noqa: F401
    import mmdmtl.engine  # noqa: F401
    import mmdmtl.evaluation  # noqa: F401
    import mmdmtl.models  # noqa: F401
    import mmdmtl.structures  # noqa: F401
    import mmdmtl.visualization  # noqa: F401

    if init_default_scope:
        never_created = (DefaultScope.get_current_instance() is None
                         or not DefaultScope.check_instance_created('mmdmtl'))
        if never_created:
            DefaultScope.get_instance('mmdmtl', scope_name='mmdmtl')
            return
        current_scope = DefaultScope.get_current_instance()
        if current_scope.scope_name != 'mmdmtl':
            warnings.warn('The current default scope '
                          f'"{current_scope.scope_name}" is not "mmdmtl", '
                          '`register_all_modules` will force the current '
                          'default scope to be "mmdmtl".')
            new_instance_name = f'mmdmtl-{datetime.datetime.now()}'
            DefaultScope.get_instance(new_instance_name, scope_name='mmdmtl')
