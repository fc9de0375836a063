# The `make demo` experiment with our opt-in logit residual (NOT the published model):
# the refined logits are the initial prediction plus a zero-initialised Conv1x1 of the
# denoiser's output, so the refinement starts equal to the initial heads and learns a
# correction conditioned on every task. Measured effect (partial-label study, 3 seeds):
# docs/results.md, "Does the refinement help?". Run it beside the published demo with
#   python tools/run_demo.py --config configs/diffusionmtl/demo_diffusionmtl-feature-residual_synthetic_one-label.py --work-dir work_dirs/demo_residual
_base_ = ['./demo_diffusionmtl-feature_synthetic_one-label.py']

model = dict(refine_head=dict(logit_residual=True))
