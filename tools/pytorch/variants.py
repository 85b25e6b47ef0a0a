"""RepVGG architecture descriptions shared by the three naming schemes.

An ArchSpec is everything that determines the tensors of a RepVGG classifier:
blocks per stage, the five widths (stage0..stage4), which global block indices
are grouped, whether every block carries SE, the class count and input channels.
Global block index: stage0 is 0, stage1's first block is 1, and so on (the
numbering of the official `override_groups_map`).
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

# Official: optional_groupwise_layers = [2, 4, ..., 26] (DingXiaoH/RepVGG repvgg.py).
OPTIONAL_GROUPWISE_LAYERS = list(range(2, 27, 2))
G2_MAP = {layer: 2 for layer in OPTIONAL_GROUPWISE_LAYERS}
G4_MAP = {layer: 4 for layer in OPTIONAL_GROUPWISE_LAYERS}

_A = [2, 4, 14, 1]
_B = [4, 6, 16, 1]
_D = [8, 14, 24, 1]

# name -> (num_blocks, width_multiplier, groups_map, use_se); exactly the upstream constructors.
OFFICIAL_VARIANTS = {
    'A0': (_A, [0.75, 0.75, 0.75, 2.5], None, False),
    'A1': (_A, [1, 1, 1, 2.5], None, False),
    'A2': (_A, [1.5, 1.5, 1.5, 2.75], None, False),
    'B0': (_B, [1, 1, 1, 2.5], None, False),
    'B1': (_B, [2, 2, 2, 4], None, False),
    'B1g2': (_B, [2, 2, 2, 4], G2_MAP, False),
    'B1g4': (_B, [2, 2, 2, 4], G4_MAP, False),
    'B2': (_B, [2.5, 2.5, 2.5, 5], None, False),
    'B2g2': (_B, [2.5, 2.5, 2.5, 5], G2_MAP, False),
    'B2g4': (_B, [2.5, 2.5, 2.5, 5], G4_MAP, False),
    'B3': (_B, [3, 3, 3, 5], None, False),
    'B3g2': (_B, [3, 3, 3, 5], G2_MAP, False),
    'B3g4': (_B, [3, 3, 3, 5], G4_MAP, False),
    'D2se': (_D, [2.5, 2.5, 2.5, 5], None, True),
}
VARIANT_NAMES = list(OFFICIAL_VARIANTS)

# Deploy parameter counts (1000 classes, 3 input channels) from the paper / REFERENCE.md, in millions.
PAPER_DEPLOY_PARAMS_M = {
    'A0': 8.30, 'A1': 12.78, 'A2': 25.49, 'B0': 14.33, 'B1': 51.82, 'B1g2': 41.36,
    'B1g4': 36.12, 'B2': 80.31, 'B2g4': 55.77, 'B3': 110.96, 'B3g4': 75.62,
}


def widths_from_multipliers(width_multiplier: Sequence[float], base: int = 64) -> List[int]:
    """Official width rule: stage0 min(64, int(64 a)), stages int(64 a), int(128 a), int(256 a), int(512 b)."""
    wm = list(width_multiplier)
    assert len(wm) == 4
    s1 = int(base * wm[0])
    return [min(64, s1), s1, int(2 * base * wm[1]), int(4 * base * wm[2]), int(8 * base * wm[3])]


@dataclass
class ArchSpec:
    num_blocks: List[int]
    widths: List[int]                      # stage0, stage1, ..., stage4
    groups_map: Dict[int, int] = field(default_factory=dict)
    use_se: bool = False
    num_classes: int = 1000
    in_channels: int = 3
    name: str = 'custom'                   # official variant name, or 'custom'
    width_multiplier: Optional[List[float]] = None

    def __post_init__(self):
        assert len(self.num_blocks) == 4 and all(n >= 1 for n in self.num_blocks), self.num_blocks
        assert len(self.widths) == 5 and all(w >= 1 for w in self.widths), self.widths
        assert 0 not in self.groups_map, 'stage0 is never grouped'

    @property
    def total_blocks(self) -> int:
        return 1 + sum(self.num_blocks)

    def block_layout(self):
        """Yield (global_index, canonical_name, in_ch, out_ch, stride, groups) in forward order."""
        yield 0, 'stage0', self.in_channels, self.widths[0], 2, 1
        idx = 1
        in_ch = self.widths[0]
        for s in range(4):
            out_ch = self.widths[s + 1]
            for i in range(self.num_blocks[s]):
                g = self.groups_map.get(idx, 1)
                yield idx, f'stage{s + 1}.{i}', in_ch, out_ch, (2 if i == 0 else 1), g
                in_ch = out_ch
                idx += 1

    def describe(self) -> str:
        g = sorted(set(self.groups_map.values())) if self.groups_map else [1]
        return (f'{self.name}: blocks {self.num_blocks} widths {self.widths} groups {g} '
                f'se={self.use_se} classes={self.num_classes} in={self.in_channels}')


def official_spec(name: str, num_classes: int = 1000, in_channels: int = 3) -> ArchSpec:
    nb, wm, gmap, se = OFFICIAL_VARIANTS[name]
    return ArchSpec(num_blocks=list(nb), widths=widths_from_multipliers(wm), groups_map=dict(gmap or {}),
                    use_se=se, num_classes=num_classes, in_channels=in_channels, name=name,
                    width_multiplier=list(wm))


def custom_spec(num_blocks, widths=None, width_multiplier=None, num_classes=1000, in_channels=3,
                groups_map=None, use_se=False) -> ArchSpec:
    if widths is None:
        assert width_multiplier is not None, 'give widths or width_multiplier'
        widths = widths_from_multipliers(width_multiplier)
    return ArchSpec(num_blocks=list(num_blocks), widths=list(widths), groups_map=dict(groups_map or {}),
                    use_se=use_se, num_classes=num_classes, in_channels=in_channels, name='custom',
                    width_multiplier=list(width_multiplier) if width_multiplier else None)
