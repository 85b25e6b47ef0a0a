"""RepVGG with timm's module names and semantics (timm/models/byobnet.py, ByobNet + RepVggBlock).

Not timm itself (timm is not installed here): a small re-implementation that produces the same state-dict keys
and the same forward as timm's `repvgg_*` models. What was read upstream (timm 0.9+/1.x byobnet.py):

  - Model: `stem` = RepVggBlock(in_chans, stem_chs, stride 2) built with the stem layer fns, so for repvgg_d2se
    the stem carries SE too; `stages` = Sequential of per-stage Sequentials (`stages.S.I`); `final_conv` is
    Identity (num_features = 0); `head` = ClassifierHead (avg pool, `head.fc` Linear).
  - RepVggBlock: `identity` = BatchNormAct2d(out_chs, apply_act=False) (a BatchNorm2d subclass, so the keys are
    plain BN keys) when in == out and stride 1; `conv_kxk` / `conv_1x1` = ConvNormAct (`.conv` no bias, `.bn`);
    forward `x = conv_1x1(x) + conv_kxk(x); x += identity(x_in); x = attn(x); act(x)` -> SE before the ReLU, as
    in the official D2se; `reparam_conv` (Conv2d with bias) after `reparameterize()`.
  - SE: attn_layer='se' -> SEModule(channels, rd_ratio=0.0625, rd_divisor=1): `attn.fc1`, `attn.fc2` (1x1 convs,
    bias), ReLU, sigmoid, x.mean((2,3)) pooling; rd_channels = make_divisible(C * 0.0625, 1, round_limit=0.)
    = round-half-up(C / 16). Official/MMPretrain use floor(C / 16); identical when C % 16 < 8 (all official
    widths are multiples of 16), different for e.g. C = 40 (timm 3, official 2).
  - Groups: `_rep_vgg_bcfg(groups=g)` gives each stage the group-size callable
    `lambda chs, idx: chs // g if (idx + 1) % 2 == 0 else 0` with idx the block index *within the stage*;
    groups = in_chs // group_size. So timm groups every odd block of every stage, where the official map
    groups global block indices 2, 4, ..., 26. With even stage lengths (all official variants) the two
    coincide; fuse_check.py asserts it. timm registers g4 variants only (repvgg_b1g4, b2g4, b3g4); the g2
    variants here use the same helper with groups=2.
  - Stem width: timm's explicit stem_chs (48 for repvgg_a0, 64 otherwise) = official min(64, int(64 a)).
  - Stage widths: make_divisible(c * wf) with divisor 8 (no change for the official widths).
  - timm's RepVggBlock(inference_mode=True) builds `reparam_conv` without padding (a latent upstream slip:
    padding defaults to 0); `reparameterize()` copies the kxk padding (1). Here the deploy conv always has
    padding 1, which is what a reparameterized timm checkpoint means.
"""

from typing import Callable, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from .variants import ArchSpec, OFFICIAL_VARIANTS, official_spec
except ImportError:
    from variants import ArchSpec, OFFICIAL_VARIANTS, official_spec


def make_divisible(v, divisor=8, min_value=None, round_limit=.9):
    """timm.layers.helpers.make_divisible."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def num_groups(group_size, channels):
    """timm byobnet.num_groups: group_size 0/None -> 1 group."""
    if not group_size:
        return 1
    assert channels % group_size == 0
    return channels // group_size


def rep_vgg_group_size_fn(groups: int) -> Optional[Callable[[int, int], int]]:
    """timm _rep_vgg_bcfg's per-stage group-size rule."""
    if groups > 0:
        return lambda chs, idx: chs // groups if (idx + 1) % 2 == 0 else 0
    return None


class BatchNormAct2d(nn.BatchNorm2d):
    """timm BatchNormAct2d with apply_act=False and no drop: a BatchNorm2d with extra parameter-free modules."""

    def __init__(self, num_features, apply_act=False):
        super().__init__(num_features)
        self.drop = nn.Identity()
        self.act = nn.ReLU(inplace=True) if apply_act else nn.Identity()

    def forward(self, x):
        return self.act(self.drop(super().forward(x)))


class ConvNormAct(nn.Module):
    """timm ConvNormAct (apply_act=False): `conv` (no bias) then `bn`."""

    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=kernel_size // 2, groups=groups, bias=False)
        self.bn = BatchNormAct2d(out_channels, apply_act=False)

    def forward(self, x):
        return self.bn(self.conv(x))


class SEModule(nn.Module):
    """timm.layers.squeeze_excite.SEModule (no norm, ReLU, sigmoid gate)."""

    def __init__(self, channels, rd_ratio=1. / 16, rd_channels=None, rd_divisor=8, bias=True):
        super().__init__()
        if not rd_channels:
            rd_channels = make_divisible(channels * rd_ratio, rd_divisor, round_limit=0.)
        self.fc1 = nn.Conv2d(channels, rd_channels, kernel_size=1, bias=bias)
        self.bn = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd_channels, channels, kernel_size=1, bias=bias)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        x_se = x.mean((2, 3), keepdim=True)
        x_se = self.fc1(x_se)
        x_se = self.act(self.bn(x_se))
        x_se = self.fc2(x_se)
        return x * self.gate(x_se)


def d2se_attn(channels):
    # repvgg_d2se: attn_layer='se', attn_kwargs=dict(rd_ratio=0.0625, rd_divisor=1)
    return SEModule(channels, rd_ratio=0.0625, rd_divisor=1)


class RepVggBlock(nn.Module):
    def __init__(self, in_chs, out_chs, kernel_size=3, stride=1, group_size=None, attn_layer=None,
                 inference_mode=False):
        super().__init__()
        self.groups = groups = num_groups(group_size, in_chs)
        if inference_mode:
            self.reparam_conv = nn.Conv2d(in_chs, out_chs, kernel_size, stride=stride, padding=kernel_size // 2,
                                          groups=groups, bias=True)
        else:
            self.reparam_conv = None
            use_ident = in_chs == out_chs and stride == 1
            self.identity = BatchNormAct2d(out_chs, apply_act=False) if use_ident else None
            self.conv_kxk = ConvNormAct(in_chs, out_chs, kernel_size, stride=stride, groups=groups)
            self.conv_1x1 = ConvNormAct(in_chs, out_chs, 1, stride=stride, groups=groups)
            self.drop_path = nn.Identity()
        self.attn = nn.Identity() if attn_layer is None else attn_layer(out_chs)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        if self.reparam_conv is not None:
            return self.act(self.attn(self.reparam_conv(x)))
        if self.identity is None:
            x = self.conv_1x1(x) + self.conv_kxk(x)
        else:
            identity = self.identity(x)
            x = self.conv_1x1(x) + self.conv_kxk(x)
            x = self.drop_path(x)
            x += identity
        x = self.attn(x)
        return self.act(x)

    def reparameterize(self):
        if self.reparam_conv is not None:
            return
        kernel, bias = self._get_kernel_bias()
        c = self.conv_kxk.conv
        self.reparam_conv = nn.Conv2d(c.in_channels, c.out_channels, kernel_size=c.kernel_size, stride=c.stride,
                                      padding=c.padding, dilation=c.dilation, groups=c.groups,
                                      bias=True).to(kernel.dtype)
        self.reparam_conv.weight.data = kernel.detach()
        self.reparam_conv.bias.data = bias.detach()
        for name, para in self.named_parameters():
            if 'reparam_conv' in name:
                continue
            para.detach_()
        self.__delattr__('conv_kxk')
        self.__delattr__('conv_1x1')
        self.__delattr__('identity')
        self.__delattr__('drop_path')

    def _get_kernel_bias(self):
        kernel_1x1, bias_1x1 = self._fuse_bn_tensor(self.conv_1x1)
        pad = self.conv_kxk.conv.kernel_size[0] // 2
        kernel_1x1 = F.pad(kernel_1x1, [pad, pad, pad, pad])
        kernel_identity, bias_identity = 0, 0
        if self.identity is not None:
            kernel_identity, bias_identity = self._fuse_bn_tensor(self.identity)
        kernel_conv, bias_conv = self._fuse_bn_tensor(self.conv_kxk)
        return kernel_conv + kernel_1x1 + kernel_identity, bias_conv + bias_1x1 + bias_identity

    def _fuse_bn_tensor(self, branch):
        if isinstance(branch, ConvNormAct):
            kernel = branch.conv.weight
            bn = branch.bn
        else:
            assert isinstance(branch, nn.BatchNorm2d)
            if not hasattr(self, 'id_tensor') or self.id_tensor.dtype != branch.weight.dtype:
                in_chs = self.conv_kxk.conv.in_channels
                input_dim = in_chs // self.groups
                ks = self.conv_kxk.conv.kernel_size
                kernel_value = torch.zeros_like(self.conv_kxk.conv.weight, dtype=branch.weight.dtype)
                for i in range(in_chs):
                    kernel_value[i, i % input_dim, ks[0] // 2, ks[1] // 2] = 1
                self.id_tensor = kernel_value
            kernel = self.id_tensor
            bn = branch
        std = (bn.running_var + bn.eps).sqrt()
        t = (bn.weight / std).reshape(-1, 1, 1, 1)
        return kernel * t, bn.bias - bn.running_mean * bn.weight / std

    # --- rvgg interface ---
    def rvgg_is_deploy(self):
        return self.reparam_conv is not None

    def rvgg_branches(self):
        return {
            'dense': (self.conv_kxk.conv, self.conv_kxk.bn),
            'one': (self.conv_1x1.conv, self.conv_1x1.bn),
            'identity': self.identity,
            'se': (self.attn.fc1, self.attn.fc2) if isinstance(self.attn, SEModule) else None,
            'se_module': self.attn,
            'act': self.act,
        }

    def rvgg_switch_to_deploy(self, compute=True):
        """compute=False: the deploy form with an uninitialised reparam_conv (to be loaded), no fusion."""
        if compute:
            return self.reparameterize()
        c = self.conv_kxk.conv
        self.reparam_conv = nn.Conv2d(c.in_channels, c.out_channels, 3, stride=c.stride, padding=1, groups=c.groups,
                                      bias=True).to(c.weight.dtype)
        for n in ('conv_kxk', 'conv_1x1', 'identity', 'drop_path'):
            delattr(self, n)


class ClassifierHead(nn.Module):
    """timm ClassifierHead with pool_type='avg': global average pool, flatten, `fc`."""

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


class RepVggByobNet(nn.Module):
    """The ByobNet instance timm builds for the repvgg_* configs."""

    def __init__(self, spec: ArchSpec, stage_group_fns: Optional[List[Optional[Callable]]] = None,
                 inference_mode=False):
        super().__init__()
        self.spec = spec
        attn = d2se_attn if spec.use_se else None
        self.stem = RepVggBlock(spec.in_channels, spec.widths[0], stride=2, attn_layer=attn,
                                inference_mode=inference_mode)
        stages = []
        prev = spec.widths[0]
        gidx = 1
        for s in range(4):
            out_chs = make_divisible(spec.widths[s + 1])
            assert out_chs == spec.widths[s + 1], 'timm rounds stage widths to multiples of 8'
            blocks = []
            for i in range(spec.num_blocks[s]):
                if stage_group_fns is not None:
                    fn = stage_group_fns[s]
                    group_size = fn(out_chs, i) if fn is not None else 0
                else:
                    g = spec.groups_map.get(gidx, 1)
                    group_size = out_chs // g if g > 1 else 0
                blocks.append(RepVggBlock(prev, out_chs, stride=2 if i == 0 else 1, group_size=group_size,
                                          attn_layer=attn, inference_mode=inference_mode))
                prev = out_chs
                gidx += 1
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.final_conv = nn.Identity()
        self.head = ClassifierHead(prev, spec.num_classes)

    def forward_features(self, x):
        return self.final_conv(self.stages(self.stem(x)))

    def forward(self, x):
        return self.head(self.forward_features(x))

    # --- rvgg interface ---
    def rvgg_blocks(self):
        out = [('stage0', self.stem)]
        for s, stage in enumerate(self.stages):
            for i, b in enumerate(stage):
                out.append((f'stage{s + 1}.{i}', b))
        return out

    def rvgg_classifier(self):
        return self.head.fc

    def block_groups(self):
        return [b.groups for _, b in self.rvgg_blocks()]


# timm model names for the variants timm registers; g2 variants are not registered in timm.
TIMM_NAMES = {'A0': 'repvgg_a0', 'A1': 'repvgg_a1', 'A2': 'repvgg_a2', 'B0': 'repvgg_b0', 'B1': 'repvgg_b1',
              'B1g4': 'repvgg_b1g4', 'B2': 'repvgg_b2', 'B2g4': 'repvgg_b2g4', 'B3': 'repvgg_b3',
              'B3g4': 'repvgg_b3g4', 'D2se': 'repvgg_d2se'}


def _variant_groups(name):
    if name.endswith('g2'):
        return 2
    if name.endswith('g4'):
        return 4
    return 0


def build_from_spec(spec: ArchSpec, deploy=False) -> RepVggByobNet:
    """Official variants use timm's own per-stage group rule; custom nets use the spec's global groups map."""
    if spec.name in OFFICIAL_VARIANTS:
        fn = rep_vgg_group_size_fn(_variant_groups(spec.name))
        return RepVggByobNet(spec, stage_group_fns=[fn] * 4, inference_mode=deploy)
    return RepVggByobNet(spec, stage_group_fns=None, inference_mode=deploy)


def create_variant(name, num_classes=1000, in_chans=3, deploy=False):
    return build_from_spec(official_spec(name, num_classes=num_classes, in_channels=in_chans), deploy=deploy)


def reparameterize_model(model: nn.Module) -> nn.Module:
    """timm.utils.reparameterize_model, in place."""
    for m in model.modules():
        if hasattr(m, 'reparameterize'):
            m.reparameterize()
    return model


def key_from_official(k: str) -> str:
    """Official state-dict key -> timm key."""
    parts = k.split('.')
    if parts[0] == 'linear':
        return 'head.fc.' + '.'.join(parts[1:])
    if parts[0] == 'stage0':
        prefix, rest = 'stem', parts[1:]
    else:
        s = int(parts[0][len('stage'):])
        prefix, rest = f'stages.{s - 1}.{parts[1]}', parts[2:]
    r = '.'.join(rest)
    for a, b in (('rbr_dense.conv.', 'conv_kxk.conv.'), ('rbr_dense.bn.', 'conv_kxk.bn.'),
                 ('rbr_1x1.conv.', 'conv_1x1.conv.'), ('rbr_1x1.bn.', 'conv_1x1.bn.'),
                 ('rbr_identity.', 'identity.'), ('se.down.', 'attn.fc1.'), ('se.up.', 'attn.fc2.'),
                 ('rbr_reparam.', 'reparam_conv.')):
        if r.startswith(a):
            return f'{prefix}.{b}{r[len(a):]}'
    raise KeyError(f'no timm name for official key {k}')
