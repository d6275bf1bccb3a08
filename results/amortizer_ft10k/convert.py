"""checkpoint (model.* tensors) -> a loadable amortizer file, architecture/info from BASE.
    python convert.py CKPT.safetensors BASE.safetensors OUT.safetensors"""
import sys
from safetensors.torch import load_file
from lavps.amortize.checkpoint import load_amortizer, save_amortizer
from lavps.api import load_prior
ck, base, out = sys.argv[1:4]
net = load_amortizer(base, load_prior())
t = {k[len("model."):]: v for k, v in load_file(ck).items() if k.startswith("model.")}
net.load_state_dict(t)
save_amortizer(net, out, {"note": f"scratch conversion of {ck}"})
print("wrote", out, len(t))
