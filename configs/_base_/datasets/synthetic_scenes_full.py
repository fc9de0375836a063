# SyntheticScenes, full-label setting (every task of every image), under the
# name of its setting; the recipe lives in synthetic_scenes.py.
_base_ = ['./synthetic_scenes.py']
train_dataloader = dict(dataset=dict(label_setting='full'))
