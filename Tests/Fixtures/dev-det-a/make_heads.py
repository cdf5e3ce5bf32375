"""Writes heads.safetensors: every non-backbone tensor of the shared fixture's checkpoint.pth.

The fixture's manifest says its backbone.* tensors equal ../dev-cls-a/model.pth, which the project
already ships, so the tests rebuild the full state dict from the two files instead of keeping a
second 12 MB copy of the backbone. Run in a scratch environment with torch and safetensors:
    python make_heads.py /path/to/shared/fixtures/dev-det-a/checkpoint.pth
"""
import sys
import torch
from safetensors.torch import save_file

sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True)['state_dict']
cls = torch.load('../dev-cls-a/model.pth', map_location='cpu', weights_only=True)
for k, v in sd.items():
    if k.startswith('backbone.'):
        assert torch.equal(v, cls[k[len('backbone.'):]]), k
heads = {k: v.contiguous() for k, v in sd.items() if not k.startswith('backbone.') and not k.endswith('num_batches_tracked')}
save_file(heads, 'heads.safetensors', metadata={'source': 'dev-det-a/checkpoint.pth (non-backbone keys)'})
print(len(heads), 'tensors')
