from .multi_scale_fuse import MultiScaleFuseNeck, resize_concat

__all__ = ['MultiScaleFuseNeck', 'resize_concat']
