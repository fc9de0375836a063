# SyntheticScenes, random-label setting, generated from a seed (no published
# split exists for it; tools/dataset_converters/make_partial_split.py writes
# the same assignment as a JSON file).
_base_ = ['./synthetic_scenes.py']
train_batch_size = 8
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(type='PartialLabelSampler'),
    batch_sampler=dict(type='TaskCoveringBatchSampler'),
    dataset=dict(label_setting='random_label', split_seed=0))
