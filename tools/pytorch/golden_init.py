"""Random but well-conditioned RepVGG weights for golden tests.

A golden test needs weights that (1) make every branch of every block matter, so any fusion mistake moves the
logits far beyond the tolerance, (2) keep activations O(1) through 20-50 blocks, (3) keep the network out of
the chaotic regime, so the f32 rounding differences of a correct runtime are not amplified past the tolerance,
and (4) let the logits depend on the input.

What did not work (measured, kept here so nobody retries it): BN statistics = the true channel mean/variance
with gammas ~1 makes a deep plain ReLU stack chaotic: on D2se a 1e-6 input change reached 4e-4 in the logits
and inputs not used for calibration blew up to 1e9. He-style second-moment statistics without centring are
stable but deep ReLU stacks then map every input to nearly the same features (logits differ between images by
~1 %). ResNet-like blocks (identity gamma ~1, small 3x3/1x1) keep inputs apart but amplify perturbations.

The recipe used, block by block in forward order, on a calibration batch that contains the test inputs:
  - conv weights U(-a, a), a = sqrt(3 / fan_in);
  - every BN: running_mean = channel mean + 0.1 std * N(0, 1), running_var = channel variance
    * exp(U(-0.2, 0.2)) (floored at 1 % of the mean, so dead channels do not get huge fused scales);
    num_batches_tracked random;
  - gammas 3x3 ~U(0.6, 1.2), 1x1 ~U(0.4, 1.0), identity ~U(0.4, 1.0), 15 % negated, then scaled together so
    the sum of their E[gamma^2] is 1: every branch carries a comparable share;
  - betas: mean BETA_MEAN, std BETA_STD per channel in total, split over the branches: 70-90 % of the units
    are active, so the network is close to linear (inputs stay distinguishable) and ReLU still clips;
  - SE (D2se): gates spread over channels by their biases (logits ~N(0, 0.5)), mildly input dependent;
  - a small perturbation of the test inputs is carried through the network (it aligns with the most amplified
    directions, which is what rounding errors see); a block that amplifies it by more than GAIN_TARGET
    (relative to the signal) has its gammas shrunk against its betas until it does not;
  - classifier: logits with standard deviation ~TARGET_LOGIT over classes, bias N(0, 0.5).
Measured at 64x64 with max|logit| ~8-10 (A0, B3, D2se): a 1e-7 relative input perturbation moves the logits
by <1e-6; zeroing any one 3x3, 1x1 or identity branch (early, middle or late block) moves them by 1.3-3.6;
BN eps 1e-3 instead of 1e-5 in a single 1x1 branch moves them by 6e-3..4e-2; the two test images' logits differ
by 8-13 % of max|logit| (3-5 % at 224x224, where global pooling averages more). A float32 fused implementation
(fake_tools.py) lands 4e-6..6e-5 from the float64 reference.
Everything comes from one numpy Generator, so a seed fixes the weights (for a given torch/numpy).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

VAR_JITTER = 0.2
GAIN_TARGET = 1.02
EPS = 1e-3
SE_DATA_STD = 0.15
TARGET_LOGIT = 2.5
NEG_FRAC = 0.15
BETA_MEAN = 0.5
BETA_STD = 0.3


def _uniform(rng, shape, a):
    n = int(np.prod(shape))
    return torch.from_numpy((rng.random(n, dtype=np.float32) * 2 - 1) * np.float32(a)).reshape(shape)


def _normal(rng, shape, std):
    return torch.from_numpy(rng.standard_normal(int(np.prod(shape))).astype(np.float32) * np.float32(std)).reshape(shape)


def make_images(rng, batch, channels, h, w):
    """Image-like inputs, roughly zero mean and unit variance (what a normalised photo looks like to the
    network): a smooth random field plus pixel noise plus a linear ramp, with per-image contrast, noise level
    and per-channel brightness. The per-image global differences matter: a stationary random texture looks
    the same to every image after global pooling, and the logits of a batch would barely differ at 224x224."""
    lh, lw = max(2, h // 8), max(2, w // 8)
    low = torch.from_numpy(rng.standard_normal((batch, channels, lh, lw)).astype(np.float32))
    low = F.interpolate(low, size=(h, w), mode='bilinear', align_corners=False)
    low = low / low.std().clamp_min(1e-6)
    noise = torch.from_numpy(rng.standard_normal((batch, channels, h, w)).astype(np.float32))
    contrast = torch.from_numpy(rng.uniform(0.4, 1.2, size=(batch, 1, 1, 1)).astype(np.float32))
    noise_level = torch.from_numpy(rng.uniform(0.2, 0.8, size=(batch, 1, 1, 1)).astype(np.float32))
    bright = torch.from_numpy(rng.uniform(-0.6, 0.6, size=(batch, channels, 1, 1)).astype(np.float32))
    theta = rng.uniform(0, 2 * np.pi, size=batch)
    yy = torch.linspace(-1, 1, h).view(1, 1, h, 1)
    xx = torch.linspace(-1, 1, w).view(1, 1, 1, w)
    ramp = (torch.from_numpy(np.cos(theta).astype(np.float32)).view(batch, 1, 1, 1) * xx
            + torch.from_numpy(np.sin(theta).astype(np.float32)).view(batch, 1, 1, 1) * yy)
    ramp_gain = torch.from_numpy(rng.uniform(0.0, 0.6, size=(batch, channels, 1, 1)).astype(np.float32))
    return (contrast * low + noise_level * noise + bright + ramp_gain * ramp).contiguous()


def _init_conv(rng, conv):
    fan_in = conv.weight[0].numel()
    conv.weight.copy_(_uniform(rng, conv.weight.shape, math.sqrt(3.0 / fan_in)))
    if conv.bias is not None:
        conv.bias.zero_()


def _set_bn(rng, bn, y, gamma_lo, gamma_hi):
    c = bn.num_features
    mean = y.mean(dim=(0, 2, 3))
    var = y.var(dim=(0, 2, 3), unbiased=False)
    var = var.clamp_min(1e-2 * float(var.mean()) + 1e-6)   # dead channels: no huge fused scales
    bn.running_mean.copy_(mean + 0.1 * var.sqrt() * _normal(rng, (c,), 1.0))
    bn.running_var.copy_(var * torch.exp(_uniform(rng, (c,), VAR_JITTER)))
    sign = torch.from_numpy(np.where(rng.random(c) < NEG_FRAC, -1.0, 1.0).astype(np.float32))
    bn.weight.copy_(torch.from_numpy(rng.uniform(gamma_lo, gamma_hi, size=c).astype(np.float32)) * sign)
    bn.num_batches_tracked.fill_(int(rng.integers(1000, 1_000_000)))


def _init_se(rng, down, up, x):
    """down: C -> r, up: r -> C. Gates spread over channels by their biases (logits ~N(0, 0.5)) and vary
    between images only mildly (logit std SE_DATA_STD across the calibration batch): strongly input-dependent
    gates make the network chaotic."""
    c, r = down.in_channels, down.out_channels
    pooled = x.mean(dim=(2, 3))                                   # [N, C]
    wd = _uniform(rng, (r, c), math.sqrt(3.0 / c))
    z = pooled @ wd.t()
    wd = wd / max(float(z.std()) if z.numel() > 1 else 1.0, 1e-6)
    z = pooled @ wd.t()
    bd = -z.mean(dim=0) + _normal(rng, (r,), 0.5)
    h = F.relu(z + bd)
    wu = _uniform(rng, (c, r), math.sqrt(3.0 / max(r, 1)))
    u = h @ wu.t()
    between = float((u - u.mean(dim=0, keepdim=True)).std()) if u.shape[0] > 1 else float(u.std())
    wu = wu * (SE_DATA_STD / max(between, 1e-6))
    u = h @ wu.t()
    down.weight.copy_(wd.view_as(down.weight))
    down.bias.copy_(bd)
    up.weight.copy_(wu.view_as(up.weight))
    up.bias.copy_(-u.mean(dim=0) + _normal(rng, (c,), 0.5))


def _rel(d, ref):
    return float(d.pow(2).mean().sqrt()) / max(float(ref.pow(2).mean().sqrt()), 1e-30)


def _block_out(br, pairs):
    """The block's forward from precomputed branch inputs: act(se(sum of BN(branch)))."""
    return br['act'](br['se_module'](sum(bn(y) for bn, y in pairs)))


@torch.no_grad()
def randomize(model, calib, rng, n_track=None):
    """Initialises a train-form model (float32) in place on `calib` (whose first `n_track` images should be the
    test inputs). Returns per-block dicts: name, output rms, fraction > 0, gain (after correction), shrink
    (the factor applied to the branch gammas, 1 if none). Convolutions run once per block on the calibration
    batch and once on the tracked perturbation; the gain search only re-evaluates BN, SE and ReLU."""
    model.eval()
    x = calib
    n_track = min(n_track or 4, x.shape[0])
    noise = torch.from_numpy(rng.standard_normal(x[:n_track].numel()).astype(np.float32)).view_as(x[:n_track])
    xp = x[:n_track] + EPS * noise * float(x[:n_track].pow(2).mean().sqrt())
    stats = []
    for name, blk in model.rvgg_blocks():
        assert not blk.rvgg_is_deploy(), 'randomize() needs the train form'
        br = blk.rvgg_branches()
        (cd, bd), (co, bo) = br['dense'], br['one']
        _init_conv(rng, cd)
        _init_conv(rng, co)
        yd, yo = cd(x), co(x)
        spec = [(bd, yd, 0.6, 1.2), (bo, yo, 0.4, 1.0)]
        if br['identity'] is not None:
            spec.append((br['identity'], x, 0.4, 1.0))
        for bn, y, lo, hi in spec:
            _set_bn(rng, bn, y, lo, hi)
        k = 1.0 / math.sqrt(sum(float(bn.weight.pow(2).mean()) for bn, _, _, _ in spec))
        n = len(spec)
        for bn, _, _, _ in spec:
            bn.weight.mul_(k)
            bn.bias.copy_(BETA_MEAN / n + _normal(rng, bn.bias.shape, BETA_STD / math.sqrt(n)))
        pairs = [(bn, y) for bn, y, _, _ in spec]
        pairs_t = [(bn, y[:n_track]) for bn, y in pairs]
        pairs_p = [(bd, cd(xp)), (bo, co(xp))] + ([(br['identity'], xp)] if n == 3 else [])
        s = sum(bn(y) for bn, y in pairs)
        if br['se'] is not None:
            _init_se(rng, br['se'][0], br['se'][1], s)
        rin = _rel(xp - x[:n_track], x[:n_track])

        def gain():
            out_t = _block_out(br, pairs_t)
            return _rel(_block_out(br, pairs_p) - out_t, out_t) / rin

        g = gain()
        shrink = 1.0
        for _ in range(5):
            if g <= GAIN_TARGET:
                break
            # Shrink the branches against the betas: for the linear part the relative gain goes as
            # c * sqrt((F + B) / (c^2 F + B)), F and B the energies of the normalised part and of the betas.
            beta = sum(bn.bias.view(1, -1, 1, 1) for bn, _ in pairs)
            f_energy = float((s - beta).pow(2).mean())
            b_energy = max(float(beta.pow(2).mean()), 1e-3 * f_energy)
            r2 = (GAIN_TARGET / g) ** 2
            c = math.sqrt(r2 * b_energy / max(f_energy * (1 - r2) + b_energy, 1e-12))
            c = min(max(c, 0.6), 0.98)
            for bn, _ in pairs:
                bn.weight.mul_(c)
            shrink *= c
            s = sum(bn(y) for bn, y in pairs)
            g = gain()
        x = _block_out(br, pairs)
        xp = _block_out(br, pairs_p)
        d = xp - x[:n_track]
        xp = x[:n_track] + d * (EPS / max(_rel(d, x[:n_track]), 1e-30))
        stats.append({'name': name, 'rms': float(x.pow(2).mean().sqrt()), 'pos': float((x > 0).float().mean()),
                      'gain': g, 'shrink': shrink})
    feats = x.mean(dim=(2, 3))
    fc = model.rvgg_classifier()
    scale = float(feats.pow(2).sum(dim=1).mean().sqrt())
    fc.weight.copy_(_uniform(rng, fc.weight.shape, math.sqrt(3.0) * TARGET_LOGIT / max(scale, 1e-6)))
    fc.bias.copy_(_normal(rng, fc.bias.shape, 0.5))
    return stats


def model_logits(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)


def logit_diagnostics(logits):
    """Scale and batch variation of a [N, classes] logits tensor."""
    l = logits.double()
    max_abs = float(l.abs().max())
    std = float(l.std())
    if l.shape[0] > 1:
        var = float((l - l.mean(dim=0, keepdim=True)).abs().max()) / max(max_abs, 1e-30)
    else:
        var = float('nan')
    return {'max_abs_logit': max_abs, 'logit_std': std, 'batch_variation': var}
