"""RepVGG in PyTorch for the benchmarks: the multi-branch train-time network and its fused deploy
form, with the official module names (DingXiaoH/RepVGG), so a deploy state dict is a checkpoint
rvgg-convert reads as it is.

Only what the benchmarks need: official variants without SE, random weights whose activations
stay O(1) through the depth (BN statistics measured on a random batch), and the textbook fusion.
The golden tests have their own, more careful modules; this file is deliberately small.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

# name: (blocks in stages 1-4, a, b, groups of the g2/g4 variants)
VARIANTS = {
    "A0": ([2, 4, 14, 1], 0.75, 2.5, 1),
    "A1": ([2, 4, 14, 1], 1.0, 2.5, 1),
    "A2": ([2, 4, 14, 1], 1.5, 2.75, 1),
    "B0": ([4, 6, 16, 1], 1.0, 2.5, 1),
    "B1": ([4, 6, 16, 1], 2.0, 4.0, 1),
    "B1g2": ([4, 6, 16, 1], 2.0, 4.0, 2),
    "B1g4": ([4, 6, 16, 1], 2.0, 4.0, 4),
    "B2": ([4, 6, 16, 1], 2.5, 5.0, 1),
    "B3": ([4, 6, 16, 1], 3.0, 5.0, 1),
}


def conv_bn(cin, cout, k, stride, groups):
    m = nn.Sequential()
    m.add_module("conv", nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False))
    m.add_module("bn", nn.BatchNorm2d(cout))
    return m


class Block(nn.Module):
    def __init__(self, cin, cout, stride, groups, deploy):
        super().__init__()
        self.cin, self.cout, self.stride, self.groups = cin, cout, stride, groups
        if deploy:
            self.rbr_reparam = nn.Conv2d(cin, cout, 3, stride, 1, groups=groups, bias=True)
        else:
            self.rbr_identity = nn.BatchNorm2d(cin) if cin == cout and stride == 1 else None
            self.rbr_dense = conv_bn(cin, cout, 3, stride, groups)
            self.rbr_1x1 = conv_bn(cin, cout, 1, stride, groups)

    def forward(self, x):
        if hasattr(self, "rbr_reparam"):
            return F.relu(self.rbr_reparam(x))
        y = self.rbr_dense(x) + self.rbr_1x1(x)
        if self.rbr_identity is not None:
            y = y + self.rbr_identity(x)
        return F.relu(y)

    def fused(self):
        """(weight, bias) of the single 3x3 convolution equal to this block in eval mode."""
        def fold(kernel, bn):
            std = (bn.running_var + bn.eps).sqrt()
            t = bn.weight / std
            return kernel * t.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * t

        w, b = fold(self.rbr_dense.conv.weight, self.rbr_dense.bn)
        w1, b1 = fold(self.rbr_1x1.conv.weight, self.rbr_1x1.bn)
        w, b = w + F.pad(w1, [1, 1, 1, 1]), b + b1
        if self.rbr_identity is not None:
            per_group = self.cin // self.groups
            eye = torch.zeros(self.cin, per_group, 3, 3)
            for i in range(self.cin):
                eye[i, i % per_group, 1, 1] = 1
            wi, bi = fold(eye, self.rbr_identity)
            w, b = w + wi, b + bi
        return w, b


class RepVGG(nn.Module):
    def __init__(self, variant, deploy=False, num_classes=1000):
        super().__init__()
        blocks, a, b, g = VARIANTS[variant]
        widths = [min(64, int(64 * a)), int(64 * a), int(128 * a), int(256 * a), int(512 * b)]
        self.variant = variant
        index = 0

        def groups():
            # Official g2/g4 maps: global block indices 2, 4, ..., 26.
            return g if g > 1 and index % 2 == 0 and 2 <= index <= 26 else 1

        self.stage0 = Block(3, widths[0], 2, 1, deploy)
        index = 1
        cin = widths[0]
        for s in range(1, 5):
            stage = []
            for i in range(blocks[s - 1]):
                stage.append(Block(cin, widths[s], 2 if i == 0 else 1, groups(), deploy))
                cin = widths[s]
                index += 1
            setattr(self, "stage%d" % s, nn.Sequential(*stage))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(widths[4], num_classes)

    def forward(self, x):
        x = self.stage0(x)
        x = self.stage4(self.stage3(self.stage2(self.stage1(x))))
        return self.linear(torch.flatten(self.gap(x), 1))

    def blocks(self):
        return [self.stage0] + [blk for s in range(1, 5) for blk in getattr(self, "stage%d" % s)]


@torch.no_grad()
def random_train_model(variant, seed, size=224, calibration_batch=4):
    """A multi-branch network with random weights in eval mode. Each BN's running statistics are
    the statistics of its input on a random batch (one train-mode pass with momentum 1), so every
    block sees roughly normalized activations; gammas weight the branches 3x3 > 1x1 ~ identity."""
    torch.manual_seed(seed)
    model = RepVGG(variant)
    for blk in model.blocks():
        for name, branch_gamma in [("rbr_dense", 0.7), ("rbr_1x1", 0.45), ("rbr_identity", 0.45)]:
            m = getattr(blk, name)
            if m is None:
                continue
            bn = m.bn if isinstance(m, nn.Sequential) else m
            if isinstance(m, nn.Sequential):
                nn.init.kaiming_normal_(m.conv.weight, nonlinearity="relu")
            bn.weight.copy_(branch_gamma * (0.8 + 0.4 * torch.rand_like(bn.weight)))
            bn.bias.copy_(0.1 + 0.1 * torch.randn_like(bn.bias))
            bn.momentum = 1.0
    nn.init.normal_(model.linear.weight, std=model.linear.in_features ** -0.5)
    nn.init.normal_(model.linear.bias, std=0.1)
    model.train()
    model(torch.randn(calibration_batch, 3, size, size))
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    return model


@torch.no_grad()
def fuse(train_model):
    """The deploy network holding the fused weights of `train_model`."""
    deploy = RepVGG(train_model.variant, deploy=True, num_classes=train_model.linear.out_features)
    for src, dst in zip(train_model.blocks(), deploy.blocks()):
        w, b = src.fused()
        dst.rbr_reparam.weight.copy_(w)
        dst.rbr_reparam.bias.copy_(b)
    deploy.linear.load_state_dict(train_model.linear.state_dict())
    return deploy.eval()
