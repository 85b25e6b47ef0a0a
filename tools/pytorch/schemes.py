"""The three naming schemes behind one small interface.

build(scheme, spec, deploy_blocks) -> model whose listed blocks (canonical names 'stage0', 'stage1.0', ...)
are in deploy form and the rest in train form, so a state dict of a fully or partially converted model can be
loaded strictly. Models expose rvgg_blocks() / rvgg_classifier(); blocks expose rvgg_branches(),
rvgg_is_deploy(), rvgg_switch_to_deploy().
"""

import contextlib
from collections import OrderedDict

import torch
import torch.nn as nn

try:
    from . import repvgg_official, repvgg_timm, repvgg_mmpretrain
except ImportError:
    import repvgg_official
    import repvgg_timm
    import repvgg_mmpretrain

SCHEMES = {'official': repvgg_official, 'timm': repvgg_timm, 'mmpretrain': repvgg_mmpretrain}


@contextlib.contextmanager
def no_init():
    """Skip PyTorch's default parameter init (kaiming_uniform_ over 100M+ parameters costs seconds); the
    caller overwrites every tensor anyway. Uninitialised memory: never use such a model before loading."""
    saved = [(cls, cls.reset_parameters) for cls in (nn.Conv2d, nn.Linear)]
    try:
        for cls, _ in saved:
            cls.reset_parameters = lambda self: None
        yield
    finally:
        for cls, fn in saved:
            cls.reset_parameters = fn


def build(scheme, spec, deploy_blocks=(), init=True, dtype=None):
    """init=False: parameters are left uninitialised (fast); load or randomize them before use.
    dtype: build directly in that floating dtype (e.g. torch.float64 for the reference)."""
    old = torch.get_default_dtype()
    try:
        if dtype is not None:
            torch.set_default_dtype(dtype)
        with (contextlib.nullcontext() if init else no_init()):
            model = SCHEMES[scheme].build_from_spec(spec, deploy=False)
            # init=False: deploy blocks get an empty fused conv (no fusion of uninitialised values)
            switch_blocks(model, deploy_blocks, compute=init)
    finally:
        torch.set_default_dtype(old)
    return model


def switch_blocks(model, names, compute=True):
    """Deploy-converts the named blocks in place (each scheme's own conversion). The new conv gets PyTorch's
    default init before the fused values overwrite it, so callers in a hurry wrap this in no_init().
    compute=False only changes the structure (empty fused convs), for a model about to be loaded."""
    names = set(names)
    for name, blk in model.rvgg_blocks():
        if name in names:
            blk.rvgg_switch_to_deploy(compute=compute)
    return model


def block_names(model):
    return [n for n, _ in model.rvgg_blocks()]


def rename_from_official(scheme, sd):
    if scheme == 'official':
        return OrderedDict(sd)
    fn = SCHEMES[scheme].key_from_official
    return OrderedDict((fn(k), v) for k, v in sd.items())


def arch_label(scheme, spec):
    """The 'arch' string a training script of this scheme would record."""
    if spec.name == 'custom':
        return 'RepVGG-custom'
    if scheme == 'timm':
        return repvgg_timm.TIMM_NAMES.get(spec.name, 'repvgg_' + spec.name.lower())
    if scheme == 'mmpretrain':
        return f'RepVGG-{spec.name}'
    return f'RepVGG-{spec.name}'
