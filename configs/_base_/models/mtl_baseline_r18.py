# MTL baseline: the DiffusionMTL network without conditioning and refinement (shared
# ResNet-18 + stride-8 fuse + per-task initial heads). Same class, by config.
_base_ = ['./diffusionmtl_r18.py']
model = dict(conditioner=None, refine_head=None)
