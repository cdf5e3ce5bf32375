"""Makes the small checkpoint-format fixtures in this folder with real torch / numpy / safetensors.

Run once in a scratch environment (pip install torch numpy safetensors); the tests never run Python.
    python make_checkpoint_forms.py
Every file holds the same tiny state dict in a different container or wrapper; `expected.json`
lists each tensor's shape and values in C order, as float32.
"""
import argparse, collections, io, json, os, pickle, zipfile
import numpy as np
import torch
from safetensors.torch import save_file

torch.manual_seed(0)
here = os.path.dirname(os.path.abspath(__file__))
os.chdir(here)

conv = torch.nn.Conv2d(2, 3, 3, bias=False)
bn = torch.nn.BatchNorm2d(3)
with torch.no_grad():
    bn.running_mean.uniform_(-1, 1); bn.running_var.uniform_(0.5, 2); bn.weight.uniform_(0.5, 1.5); bn.bias.uniform_(-1, 1)
sd = collections.OrderedDict()
sd['conv.weight'] = conv.weight.detach().clone()
for k, v in bn.state_dict().items():
    sd['bn.' + k] = v.clone()
full = torch.arange(12, dtype=torch.float32).reshape(3, 4)
sd['view.full'] = full
sd['view.cols'] = full[:, 1:3]          # shares storage: offset 1, stride (4, 1)
sd['view.transposed'] = full.t()        # non-contiguous
sd['half'] = torch.linspace(-2, 2, 7).half()
sd['bf16'] = torch.linspace(-3, 3, 5).bfloat16()
sd['double'] = torch.linspace(0, 1, 4, dtype=torch.float64)

expected = {k: {'shape': list(v.shape), 'values': v.float().reshape(-1).tolist()}
            for k, v in sd.items() if not k.endswith('num_batches_tracked')}
json.dump(expected, open('expected.json', 'w'), indent=0)

torch.save(sd, 'plain.pth')                                       # zip, folder name = file stem
buf = io.BytesIO()
torch.save({'model': sd, 'optimizer': {'lr': 0.1}, 'epoch': 3,
            'args': argparse.Namespace(model='RepLKNet-31B', input_size=224)}, buf)   # folder 'archive'
open('wrapped_model.pth', 'wb').write(buf.getvalue())
torch.save({'meta': {'CLASSES': ('a', 'b'), 'config': "model = dict()", 'epoch': 1, 'seed': None},
            'state_dict': collections.OrderedDict(('module.' + k, v) for k, v in sd.items())},
           'wrapped_state_dict_ddp.pth')
torch.save({'model': sd, 'model_ema': collections.OrderedDict((k, v * 2 if v.is_floating_point() else v)
                                                            for k, v in sd.items())}, 'with_ema.pth')
torch.save(sd, 'legacy.pth', _use_new_zipfile_serialization=False)
save_file({k: v.contiguous() for k, v in sd.items()}, 'tiny.safetensors')
os.chmod('tiny.safetensors', 0o644)

np.save('f4.npy', np.arange(6, dtype='<f4').reshape(2, 3))
np.save('f8_fortran.npy', np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3)))
np.save('i8.npy', np.array([[-1, 2], [3, 4]], dtype='<i8'))


class Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned > /tmp/replk-pwned',))


# pickle spells os.system as posix.system on Linux; name it the way a hand-made exploit would.
evil = pickle.dumps({'model': Evil()}, protocol=2).replace(b'cposix\nsystem\n', b'cos\nsystem\n')
with zipfile.ZipFile('hostile_os_system.pth', 'w') as z:
    z.writestr('hostile_os_system/data.pkl', evil)
    z.writestr('hostile_os_system/version', '3\n')
