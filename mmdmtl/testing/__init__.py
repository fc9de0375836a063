"""Reference implementations the tests and benchmarks compare against.

* ``reference_denoiser``: the per-sample loop of the published DiffusionMTL code
  (one (image, task) pair at a time), sharing a model's weights; the batched
  ``MultiTaskDenoiser`` / ``MultiTaskEncoderDecoder`` must match it.
* ``edge_reference``: a frozen copy of the edge evaluation before its speed-up; the
  fast implementation must give the same counts.

Not imported by the rest of the package (its own layer, above the models and the
evaluation it checks).
"""
