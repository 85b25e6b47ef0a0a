"""RepVGG with MMPretrain's module names (mmpretrain/models/backbones/repvgg.py inside an ImageClassifier).

Not MMPretrain itself (mmcv/mmengine are not installed): plain nn.Modules with the same state-dict keys and
forward. What was read upstream:

  - ImageClassifier: `backbone` (RepVGG), `neck` GlobalAveragePooling (no parameters), `head` LinearClsHead
    (`head.fc`). The backbone returns the last stage (out_indices=(3,)).
  - Backbone: `stem` = RepVGGBlock(in_channels, min(stem_channels=64, int(64 * wf[0])), stride 2, se_cfg);
    stages `stage_1` .. `stage_4` (mmengine Sequential), widths int(64 * 2**i * wf[i]); groups from
    group_layer_map = {2: g, 4: g, ..., 26: g} on the global block index (stage_1's first block is 1),
    exactly the official map.
  - RepVGGBlock: `branch_3x3` / `branch_1x1` = Sequential(`conv` no bias, `norm` BN); `branch_norm` = BN when
    in == out and stride 1 (and padding == dilation); `se_layer` when se_cfg; `act` ReLU; deploy:
    `branch_reparam` (Conv2d with bias). Train forward: act(se_layer(3x3 + 1x1 + norm)).
  - SELayer(channels, ratio=16, divisor=1) for D2se: `global_avgpool` (AdaptiveAvgPool2d(1)),
    `conv1` = ConvModule(C -> make_divisible(C // 16, 1), bias='auto' -> bias since no norm, ReLU) and `conv2`
    = ConvModule(-> C, Sigmoid); keys `se_layer.conv1.conv.{weight,bias}`, `se_layer.conv2.conv.*`.
    Squeeze width floor(C / 16), as the official SEBlock.
  - UPSTREAM BUG: in deploy mode MMPretrain's RepVGGBlock.forward returns act(branch_reparam(x)) and skips
    `se_layer`, so a reparameterized MMPretrain D2se computes a different function from the trained one (the
    SE weights are still in the checkpoint). This module applies SE in deploy mode too (the mathematically
    consistent reading, and what the official code and timm do). Set `DEPLOY_SKIPS_SE = True` on
    RepVGGBlock to reproduce upstream's behaviour; fuse_check.py measures the difference.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from .variants import ArchSpec, official_spec
except ImportError:
    from variants import ArchSpec, official_spec


def make_divisible(value, divisor, min_value=None, min_ratio=0.9):
    """mmpretrain.models.utils.make_divisible."""
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value


class ConvModule(nn.Module):
    """mmcv ConvModule with no norm: `conv` (bias) then the activation."""

    def __init__(self, in_channels, out_channels, act):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, bias=True)
        self.activate = act

    def forward(self, x):
        return self.activate(self.conv(x))


class SELayer(nn.Module):
    def __init__(self, channels, ratio=16, divisor=8):
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        squeeze_channels = make_divisible(channels // ratio, divisor)
        self.conv1 = ConvModule(channels, squeeze_channels, nn.ReLU(inplace=True))
        self.conv2 = ConvModule(squeeze_channels, channels, nn.Sigmoid())

    def forward(self, x):
        out = self.global_avgpool(x)
        out = self.conv1(out)
        out = self.conv2(out)
        return x * out


class RepVGGBlock(nn.Module):
    DEPLOY_SKIPS_SE = False   # True reproduces MMPretrain's deploy forward (SE skipped); see module docstring

    def __init__(self, in_channels, out_channels, stride=1, padding=1, dilation=1, groups=1, se_cfg=None,
                 deploy=False):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.se_cfg = se_cfg
        self.deploy = deploy

        if deploy:
            self.branch_reparam = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride,
                                            padding=padding, dilation=dilation, groups=groups, bias=True)
        else:
            if out_channels == in_channels and stride == 1 and padding == dilation:
                self.branch_norm = nn.BatchNorm2d(in_channels)
            else:
                self.branch_norm = None
            self.branch_3x3 = self.create_conv_bn(kernel_size=3, dilation=dilation, padding=padding)
            self.branch_1x1 = self.create_conv_bn(kernel_size=1)

        self.se_layer = SELayer(channels=out_channels, **se_cfg) if se_cfg is not None else None
        self.act = nn.ReLU(inplace=True)

    def create_conv_bn(self, kernel_size, dilation=1, padding=0):
        conv_bn = nn.Sequential()
        conv_bn.add_module('conv', nn.Conv2d(self.in_channels, self.out_channels, kernel_size=kernel_size,
                                             stride=self.stride, dilation=dilation, padding=padding,
                                             groups=self.groups, bias=False))
        conv_bn.add_module('norm', nn.BatchNorm2d(self.out_channels))
        return conv_bn

    def forward(self, x):
        if self.deploy:
            out = self.branch_reparam(x)
            if self.se_layer is not None and not self.DEPLOY_SKIPS_SE:
                out = self.se_layer(out)
            return self.act(out)
        branch_norm_out = 0 if self.branch_norm is None else self.branch_norm(x)
        inner_out = self.branch_3x3(x) + self.branch_1x1(x) + branch_norm_out
        if self.se_cfg is not None:
            inner_out = self.se_layer(inner_out)
        return self.act(inner_out)

    def switch_to_deploy(self):
        if self.deploy:
            return
        w, b = self.reparameterize()
        self.branch_reparam = nn.Conv2d(self.in_channels, self.out_channels, kernel_size=3, stride=self.stride,
                                        padding=self.padding, dilation=self.dilation, groups=self.groups,
                                        bias=True).to(w.dtype)
        self.branch_reparam.weight.data = w.detach()
        self.branch_reparam.bias.data = b.detach()
        for param in self.parameters():
            param.detach_()
        delattr(self, 'branch_3x3')
        delattr(self, 'branch_1x1')
        delattr(self, 'branch_norm')
        self.deploy = True

    def reparameterize(self):
        weight_3x3, bias_3x3 = self._fuse_conv_bn(self.branch_3x3)
        weight_1x1, bias_1x1 = self._fuse_conv_bn(self.branch_1x1)
        weight_1x1 = F.pad(weight_1x1, [1, 1, 1, 1], value=0)
        weight_norm, bias_norm = 0, 0
        if self.branch_norm:
            tmp_conv_bn = self._norm_to_conv3x3(self.branch_norm)
            weight_norm, bias_norm = self._fuse_conv_bn(tmp_conv_bn)
        return weight_3x3 + weight_1x1 + weight_norm, bias_3x3 + bias_1x1 + bias_norm

    @staticmethod
    def _fuse_conv_bn(branch):
        if branch is None:
            return 0, 0
        std = (branch.norm.running_var + branch.norm.eps).sqrt()
        fused_weight = (branch.norm.weight / std).reshape(-1, 1, 1, 1) * branch.conv.weight
        fused_bias = -branch.norm.running_mean * branch.norm.weight / std + branch.norm.bias
        return fused_weight, fused_bias

    def _norm_to_conv3x3(self, branch_norm):
        input_dim = self.in_channels // self.groups
        conv_weight = torch.zeros((self.in_channels, input_dim, 3, 3), dtype=branch_norm.weight.dtype)
        for i in range(self.in_channels):
            conv_weight[i, i % input_dim, 1, 1] = 1
        tmp = nn.Sequential()
        tmp.add_module('conv', nn.Conv2d(self.in_channels, self.in_channels, 3, padding=1, groups=self.groups,
                                         bias=False).to(branch_norm.weight.dtype))
        tmp.conv.weight.data = conv_weight.to(branch_norm.weight.device)
        tmp.add_module('norm', branch_norm)
        return tmp

    # --- rvgg interface ---
    def rvgg_is_deploy(self):
        return self.deploy

    def rvgg_branches(self):
        return {
            'dense': (self.branch_3x3.conv, self.branch_3x3.norm),
            'one': (self.branch_1x1.conv, self.branch_1x1.norm),
            'identity': self.branch_norm,
            'se': (self.se_layer.conv1.conv, self.se_layer.conv2.conv) if self.se_layer is not None else None,
            'se_module': self.se_layer if self.se_layer is not None else nn.Identity(),
            'act': self.act,
        }

    def rvgg_switch_to_deploy(self, compute=True):
        """compute=False: the deploy form with an uninitialised branch_reparam (to be loaded), no fusion."""
        if compute:
            return self.switch_to_deploy()
        c = self.branch_3x3.conv
        self.branch_reparam = nn.Conv2d(self.in_channels, self.out_channels, 3, stride=self.stride,
                                        padding=self.padding, dilation=self.dilation, groups=self.groups,
                                        bias=True).to(c.weight.dtype)
        for n in ('branch_3x3', 'branch_1x1', 'branch_norm'):
            delattr(self, n)
        self.deploy = True


class RepVGGBackbone(nn.Module):
    def __init__(self, spec: ArchSpec, deploy=False):
        super().__init__()
        se_cfg = dict(ratio=16, divisor=1) if spec.use_se else None
        self.stem = RepVGGBlock(spec.in_channels, spec.widths[0], stride=2, se_cfg=se_cfg, deploy=deploy)
        channels = spec.widths[0]
        idx = 1
        self.stages = []
        for i in range(4):
            out_channels = spec.widths[i + 1]
            blocks = []
            for j in range(spec.num_blocks[i]):
                blocks.append(RepVGGBlock(channels, out_channels, stride=2 if j == 0 else 1,
                                          groups=spec.groups_map.get(idx, 1), se_cfg=se_cfg, deploy=deploy))
                channels = out_channels
                idx += 1
            name = f'stage_{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.stages.append(name)

    def forward(self, x):
        x = self.stem(x)
        for name in self.stages:
            x = getattr(self, name)(x)
        return (x,)


class LinearClsHead(nn.Module):
    def __init__(self, num_classes, in_channels):
        super().__init__()
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats):
        return self.fc(feats[-1])


class GlobalAveragePooling(nn.Module):
    def forward(self, inputs):
        return tuple(x.mean((2, 3)) for x in inputs)


class ImageClassifier(nn.Module):
    def __init__(self, spec: ArchSpec, deploy=False):
        super().__init__()
        self.spec = spec
        self.backbone = RepVGGBackbone(spec, deploy=deploy)
        self.neck = GlobalAveragePooling()
        self.head = LinearClsHead(spec.num_classes, spec.widths[4])

    def forward(self, x):
        return self.head(self.neck(self.backbone(x)))

    def switch_to_deploy(self):
        for m in self.modules():
            if isinstance(m, RepVGGBlock):
                m.switch_to_deploy()

    # --- rvgg interface ---
    def rvgg_blocks(self):
        out = [('stage0', self.backbone.stem)]
        for s in range(1, 5):
            for i, b in enumerate(getattr(self.backbone, f'stage_{s}')):
                out.append((f'stage{s}.{i}', b))
        return out

    def rvgg_classifier(self):
        return self.head.fc


def build_from_spec(spec: ArchSpec, deploy=False) -> ImageClassifier:
    return ImageClassifier(spec, deploy=deploy)


def create_variant(name, num_classes=1000, in_channels=3, deploy=False):
    return build_from_spec(official_spec(name, num_classes=num_classes, in_channels=in_channels), deploy=deploy)


def key_from_official(k: str) -> str:
    """Official state-dict key -> MMPretrain key."""
    parts = k.split('.')
    if parts[0] == 'linear':
        return 'head.fc.' + '.'.join(parts[1:])
    if parts[0] == 'stage0':
        prefix, rest = 'backbone.stem', parts[1:]
    else:
        s = int(parts[0][len('stage'):])
        prefix, rest = f'backbone.stage_{s}.{parts[1]}', parts[2:]
    r = '.'.join(rest)
    for a, b in (('rbr_dense.conv.', 'branch_3x3.conv.'), ('rbr_dense.bn.', 'branch_3x3.norm.'),
                 ('rbr_1x1.conv.', 'branch_1x1.conv.'), ('rbr_1x1.bn.', 'branch_1x1.norm.'),
                 ('rbr_identity.', 'branch_norm.'), ('se.down.', 'se_layer.conv1.conv.'),
                 ('se.up.', 'se_layer.conv2.conv.'), ('rbr_reparam.', 'branch_reparam.')):
        if r.startswith(a):
            return f'{prefix}.{b}{r[len(a):]}'
    raise KeyError(f'no MMPretrain name for official key {k}')
