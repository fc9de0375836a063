import pytest
import torch

from mmdmtl.models.losses import partial_label_weights


def test_weights_are_num_tasks_over_num_labelled():
    lab = torch.tensor([[1, 0, 0, 0, 0], [1, 1, 0, 0, 1], [0, 0, 0, 0, 0],
                        [1, 1, 1, 1, 1]], dtype=torch.bool)
    w = partial_label_weights(lab)
    expect = torch.tensor([[5.0, 0, 0, 0, 0], [5 / 3, 5 / 3, 0, 0, 5 / 3],
                           [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]])
    torch.testing.assert_close(w, expect)
    with pytest.raises(ValueError, match=r'\[B, T\]'):
        partial_label_weights(lab[0])
