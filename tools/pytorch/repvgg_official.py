"""RepVGG with the official module structure and state-dict keys (DingXiaoH/RepVGG, repvgg.py).

Written after the upstream file (the version with SEBlock, use_se and RepVGG-D2se); key names,
constructor arguments, branch order and deploy conversion follow it. Differences, all deliberate:
  - no `print` in RepVGGBlock.__init__;
  - `in_channels` (default 3) and explicit `widths` are accepted so 1-channel and custom nets can be built;
  - SEBlock pools with a true global mean. Upstream calls F.avg_pool2d(x, kernel_size=x.size(3)), i.e. a W x W
    window: identical for square inputs, wrong for non-square ones (H > W leaves H//W rows that the following
    view(-1, C, 1, 1) folds into the batch; H < W fails). RepVGGplus uses the same pooling;
  - the identity kernel is built in the dtype of the BN weights (upstream: float32 numpy) so float64 runs stay
    float64;
  - every module carries the small `rvgg_*` interface used by the golden generator (tools/pytorch/golden_init.py).
"""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from .variants import ArchSpec, OFFICIAL_VARIANTS, custom_spec
except ImportError:  # imported as a top-level module with tools/pytorch on sys.path
    from variants import ArchSpec, OFFICIAL_VARIANTS, custom_spec


def conv_bn(in_channels, out_channels, kernel_size, stride, padding, groups=1):
    result = nn.Sequential()
    result.add_module('conv', nn.Conv2d(in_channels=in_channels, out_channels=out_channels,
                                        kernel_size=kernel_size, stride=stride, padding=padding,
                                        groups=groups, bias=False))
    result.add_module('bn', nn.BatchNorm2d(num_features=out_channels))
    return result


class SEBlock(nn.Module):
    """Squeeze-excite as in upstream (down/up 1x1 convs with bias, ReLU, sigmoid)."""

    def __init__(self, input_channels, internal_neurons):
        super().__init__()
        self.down = nn.Conv2d(in_channels=input_channels, out_channels=internal_neurons, kernel_size=1,
                              stride=1, bias=True)
        self.up = nn.Conv2d(in_channels=internal_neurons, out_channels=input_channels, kernel_size=1,
                            stride=1, bias=True)
        self.input_channels = input_channels

    def forward(self, inputs):
        # True global average pool. Upstream: F.avg_pool2d(inputs, kernel_size=inputs.size(3)), which equals
        # this only when H == W (see the module docstring).
        x = inputs.mean(dim=(2, 3), keepdim=True)
        x = self.down(x)
        x = F.relu(x)
        x = self.up(x)
        x = torch.sigmoid(x)
        x = x.view(-1, self.input_channels, 1, 1)
        return inputs * x


class RepVGGBlock(nn.Module):

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=1, dilation=1, groups=1,
                 padding_mode='zeros', deploy=False, use_se=False):
        super().__init__()
        self.deploy = deploy
        self.groups = groups
        self.in_channels = in_channels

        assert kernel_size == 3
        assert padding == 1

        padding_11 = padding - kernel_size // 2

        self.nonlinearity = nn.ReLU()

        if use_se:
            # Upstream: SEBlock(out_channels, internal_neurons=out_channels // 16).
            self.se = SEBlock(out_channels, internal_neurons=out_channels // 16)
        else:
            self.se = nn.Identity()

        if deploy:
            self.rbr_reparam = nn.Conv2d(in_channels=in_channels, out_channels=out_channels,
                                         kernel_size=kernel_size, stride=stride, padding=padding,
                                         dilation=dilation, groups=groups, bias=True, padding_mode=padding_mode)
        else:
            self.rbr_identity = (nn.BatchNorm2d(num_features=in_channels)
                                 if out_channels == in_channels and stride == 1 else None)
            self.rbr_dense = conv_bn(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size,
                                     stride=stride, padding=padding, groups=groups)
            self.rbr_1x1 = conv_bn(in_channels=in_channels, out_channels=out_channels, kernel_size=1,
                                   stride=stride, padding=padding_11, groups=groups)

    def forward(self, inputs):
        if hasattr(self, 'rbr_reparam'):
            return self.nonlinearity(self.se(self.rbr_reparam(inputs)))

        if self.rbr_identity is None:
            id_out = 0
        else:
            id_out = self.rbr_identity(inputs)

        return self.nonlinearity(self.se(self.rbr_dense(inputs) + self.rbr_1x1(inputs) + id_out))

    # Derives the equivalent kernel and bias in a differentiable way (upstream comment).
    def get_equivalent_kernel_bias(self):
        kernel3x3, bias3x3 = self._fuse_bn_tensor(self.rbr_dense)
        kernel1x1, bias1x1 = self._fuse_bn_tensor(self.rbr_1x1)
        kernelid, biasid = self._fuse_bn_tensor(self.rbr_identity)
        return kernel3x3 + self._pad_1x1_to_3x3_tensor(kernel1x1) + kernelid, bias3x3 + bias1x1 + biasid

    def _pad_1x1_to_3x3_tensor(self, kernel1x1):
        if kernel1x1 is None:
            return 0
        return F.pad(kernel1x1, [1, 1, 1, 1])

    def _fuse_bn_tensor(self, branch):
        if branch is None:
            return 0, 0
        if isinstance(branch, nn.Sequential):
            kernel = branch.conv.weight
            running_mean = branch.bn.running_mean
            running_var = branch.bn.running_var
            gamma = branch.bn.weight
            beta = branch.bn.bias
            eps = branch.bn.eps
        else:
            assert isinstance(branch, nn.BatchNorm2d)
            if not hasattr(self, 'id_tensor') or self.id_tensor.dtype != branch.weight.dtype:
                input_dim = self.in_channels // self.groups
                kernel_value = torch.zeros((self.in_channels, input_dim, 3, 3), dtype=branch.weight.dtype)
                for i in range(self.in_channels):
                    kernel_value[i, i % input_dim, 1, 1] = 1
                self.id_tensor = kernel_value.to(branch.weight.device)
            kernel = self.id_tensor
            running_mean = branch.running_mean
            running_var = branch.running_var
            gamma = branch.weight
            beta = branch.bias
            eps = branch.eps
        std = (running_var + eps).sqrt()
        t = (gamma / std).reshape(-1, 1, 1, 1)
        return kernel * t, beta - running_mean * gamma / std

    def switch_to_deploy(self):
        if hasattr(self, 'rbr_reparam'):
            return
        kernel, bias = self.get_equivalent_kernel_bias()
        c = self.rbr_dense.conv
        self.rbr_reparam = nn.Conv2d(in_channels=c.in_channels, out_channels=c.out_channels,
                                     kernel_size=c.kernel_size, stride=c.stride, padding=c.padding,
                                     dilation=c.dilation, groups=c.groups, bias=True).to(kernel.dtype)
        self.rbr_reparam.weight.data = kernel.detach()
        self.rbr_reparam.bias.data = bias.detach()
        for para in self.parameters():
            para.detach_()
        self.__delattr__('rbr_dense')
        self.__delattr__('rbr_1x1')
        if hasattr(self, 'rbr_identity'):
            self.__delattr__('rbr_identity')
        if hasattr(self, 'id_tensor'):
            self.__delattr__('id_tensor')
        self.deploy = True

    # --- rvgg interface (golden generator) ---
    def rvgg_is_deploy(self):
        return hasattr(self, 'rbr_reparam')

    def rvgg_branches(self):
        return {
            'dense': (self.rbr_dense.conv, self.rbr_dense.bn),
            'one': (self.rbr_1x1.conv, self.rbr_1x1.bn),
            'identity': self.rbr_identity,
            'se': (self.se.down, self.se.up) if isinstance(self.se, SEBlock) else None,
            'se_module': self.se,
            'act': self.nonlinearity,
        }

    def rvgg_switch_to_deploy(self, compute=True):
        """compute=False: the deploy form with an uninitialised rbr_reparam (to be loaded), no fusion."""
        if compute:
            return self.switch_to_deploy()
        c = self.rbr_dense.conv
        self.rbr_reparam = nn.Conv2d(c.in_channels, c.out_channels, 3, stride=c.stride, padding=1, groups=c.groups,
                                     bias=True).to(c.weight.dtype)
        for n in ('rbr_dense', 'rbr_1x1', 'rbr_identity'):
            if hasattr(self, n):
                delattr(self, n)
        self.deploy = True


class RepVGG(nn.Module):

    def __init__(self, num_blocks, num_classes=1000, width_multiplier=None, override_groups_map=None,
                 deploy=False, use_se=False, in_channels=3, widths=None):
        super().__init__()
        if widths is None:
            assert len(width_multiplier) == 4
            widths = [min(64, int(64 * width_multiplier[0])), int(64 * width_multiplier[0]),
                      int(128 * width_multiplier[1]), int(256 * width_multiplier[2]),
                      int(512 * width_multiplier[3])]
        assert len(widths) == 5

        self.deploy = deploy
        self.override_groups_map = override_groups_map or dict()
        self.use_se = use_se

        assert 0 not in self.override_groups_map

        self.in_planes = widths[0]

        self.stage0 = RepVGGBlock(in_channels=in_channels, out_channels=self.in_planes, kernel_size=3, stride=2,
                                  padding=1, deploy=self.deploy, use_se=self.use_se)
        self.cur_layer_idx = 1
        self.stage1 = self._make_stage(widths[1], num_blocks[0], stride=2)
        self.stage2 = self._make_stage(widths[2], num_blocks[1], stride=2)
        self.stage3 = self._make_stage(widths[3], num_blocks[2], stride=2)
        self.stage4 = self._make_stage(widths[4], num_blocks[3], stride=2)
        self.gap = nn.AdaptiveAvgPool2d(output_size=1)
        self.linear = nn.Linear(widths[4], num_classes)

    def _make_stage(self, planes, num_blocks, stride):
        strides = [stride] + [1] * (num_blocks - 1)
        blocks = []
        for stride in strides:
            cur_groups = self.override_groups_map.get(self.cur_layer_idx, 1)
            blocks.append(RepVGGBlock(in_channels=self.in_planes, out_channels=planes, kernel_size=3,
                                      stride=stride, padding=1, groups=cur_groups, deploy=self.deploy,
                                      use_se=self.use_se))
            self.in_planes = planes
            self.cur_layer_idx += 1
        # Upstream uses nn.Sequential (keys stageN.I.*); a ModuleList would give the same keys.
        return nn.Sequential(*blocks)

    def forward(self, x):
        out = self.stage0(x)
        out = self.stage1(out)
        out = self.stage2(out)
        out = self.stage3(out)
        out = self.stage4(out)
        out = self.gap(out)
        out = out.view(out.size(0), -1)
        out = self.linear(out)
        return out

    # --- rvgg interface ---
    def rvgg_blocks(self):
        out = [('stage0', self.stage0)]
        for s in range(1, 5):
            for i, b in enumerate(getattr(self, f'stage{s}')):
                out.append((f'stage{s}.{i}', b))
        return out

    def rvgg_classifier(self):
        return self.linear


def build_from_spec(spec: ArchSpec, deploy=False) -> RepVGG:
    return RepVGG(num_blocks=spec.num_blocks, num_classes=spec.num_classes, widths=spec.widths,
                  override_groups_map=spec.groups_map or None, deploy=deploy, use_se=spec.use_se,
                  in_channels=spec.in_channels)


def _make_creator(name):
    def create(deploy=False, num_classes=1000, in_channels=3):
        nb, wm, gmap, se = OFFICIAL_VARIANTS[name]
        return RepVGG(num_blocks=nb, num_classes=num_classes, width_multiplier=wm, override_groups_map=gmap,
                      deploy=deploy, use_se=se, in_channels=in_channels)
    create.__name__ = f'create_RepVGG_{name}'
    create.__doc__ = f'RepVGG-{name} as upstream create_RepVGG_{name}, plus num_classes / in_channels.'
    return create


create_RepVGG_A0 = _make_creator('A0')
create_RepVGG_A1 = _make_creator('A1')
create_RepVGG_A2 = _make_creator('A2')
create_RepVGG_B0 = _make_creator('B0')
create_RepVGG_B1 = _make_creator('B1')
create_RepVGG_B1g2 = _make_creator('B1g2')
create_RepVGG_B1g4 = _make_creator('B1g4')
create_RepVGG_B2 = _make_creator('B2')
create_RepVGG_B2g2 = _make_creator('B2g2')
create_RepVGG_B2g4 = _make_creator('B2g4')
create_RepVGG_B3 = _make_creator('B3')
create_RepVGG_B3g2 = _make_creator('B3g2')
create_RepVGG_B3g4 = _make_creator('B3g4')
create_RepVGG_D2se = _make_creator('D2se')

func_dict = {f'RepVGG-{n}': globals()[f'create_RepVGG_{n}'] for n in OFFICIAL_VARIANTS}


def get_RepVGG_func_by_name(name):
    return func_dict[name]


def create_custom(num_blocks, width_multiplier=None, widths=None, num_classes=1000, in_channels=3,
                  groups_map=None, use_se=False, deploy=False):
    """A RepVGG of any depth/width: `widths` = [stage0, stage1, stage2, stage3, stage4] or the official
    multipliers [a, a, a, b]; `groups_map` maps global block indices (stage1's first block is 1) to groups."""
    spec = custom_spec(num_blocks, widths=widths, width_multiplier=width_multiplier, num_classes=num_classes,
                       in_channels=in_channels, groups_map=groups_map, use_se=use_se)
    return build_from_spec(spec, deploy=deploy)


def repvgg_model_convert(model: torch.nn.Module, save_path=None, do_copy=True):
    """Upstream deploy conversion: switch every block that has switch_to_deploy."""
    if do_copy:
        model = copy.deepcopy(model)
    for module in model.modules():
        if hasattr(module, 'switch_to_deploy'):
            module.switch_to_deploy()
    if save_path is not None:
        torch.save(model.state_dict(), save_path)
    return model
