"""Reference implementations the tests and benchmarks compare against.

* ``reference_denoiser``: the per-sample loop of the published DiffusionMTL code
  (one (image, task) pair at a time), sharing a model's weights; the batched
  ``MultiTaskDenoiser`` / ``MultiTaskEncoderDecoder`` must match it.

Not imported by the rest of the package (its own layer, above the models and the
evaluation it checks).
"""
