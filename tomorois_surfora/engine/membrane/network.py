"""The hybrid 2.5D membrane network (seed 004) and a plain U-Net of similar size, in PyTorch.

Both read a stack of consecutive sections, shaped (batch, sections, height, width), and return membrane logits
of the same shape for every section, plus edge logits (the hybrid's shape stream; the U-Net returns None).

Hybrid, per section (weights shared across sections):

- encoder: convolution blocks (two 3×3 convolutions, batch norm, ReLU) each followed by channel attention
  (squeeze-and-excitation) and spatial attention (a 7×7 convolution over the channel mean and max), with
  2×2 max pooling between levels (U-Net / attention blocks of the seed's Tables A.4–A.6);
- bottleneck: atrous spatial pyramid pooling with dilations 1, 6, 12 and 18 plus image pooling (DeepLab,
  Table A.7), then a bidirectional convolutional LSTM across the sections (Table A.8: context between
  sections, run forwards and backwards so that every section sees both sides);
- decoder: transposed convolutions, skip connections from the encoder, convolution blocks (Tables A.9–A.12);
- shape stream (Gated-SCNN): a full-resolution stream from the first encoder level, gated by each deeper
  level (a sigmoid of a 1×1 convolution over the stream and the upsampled level), which predicts membrane
  edges; its edge probability gates the last decoder features before the 1×1 output convolution.

The seed's sizes (64 to 1024 channels, a 512-unit LSTM) are for a GPU; ``base`` channels (16 by default)
scale every level so that the network trains on two CPU cores in tens of minutes.
"""
import torch
from torch import nn
from torch.nn import functional as F

from . import ARCHITECTURES


def _conv_bn_relu(cin, cout, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation: channel weights from the global mean and max of each channel."""

    def __init__(self, channels, reduction=4):
        super().__init__()
        hidden = max(4, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def forward(self, x):
        weights = self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1))
        return x * torch.sigmoid(weights)


class SpatialAttention(nn.Module):
    """A 7×7 convolution over the channel mean and max gives one weight per pixel."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x):
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.conv(pooled))


class ConvBlock(nn.Module):
    """Two 3×3 convolutions, then channel and spatial attention when ``attention``."""

    def __init__(self, cin, cout, attention=True):
        super().__init__()
        self.convs = nn.Sequential(_conv_bn_relu(cin, cout), _conv_bn_relu(cout, cout))
        self.attention = nn.Sequential(ChannelAttention(cout), SpatialAttention()) if attention else nn.Identity()

    def forward(self, x):
        return self.attention(self.convs(x))


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: parallel 3×3 convolutions at several dilations and image pooling."""

    def __init__(self, cin, cout, dilations=(1, 6, 12, 18)):
        super().__init__()
        self.branches = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
             if d == 1 else _conv_bn_relu(cin, cout, d) for d in dilations])
        self.image_pool = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True))
        self.project = nn.Sequential(nn.Conv2d(cout * (len(dilations) + 1), cout, 1, bias=False),
                                     nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        pooled = self.image_pool(F.adaptive_avg_pool2d(x, 1)).expand(-1, -1, x.shape[2], x.shape[3])
        return self.project(torch.cat([branch(x) for branch in self.branches] + [pooled], 1))


class ConvLSTMCell(nn.Module):
    """One convolutional LSTM step (Shi et al. 2015): gates from a 3×3 convolution over input and state."""

    def __init__(self, cin, hidden):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(cin + hidden, 4 * hidden, 3, padding=1)

    def forward(self, x, state):
        h, c = state
        i, f, o, g = torch.chunk(self.gates(torch.cat([x, h], 1)), 4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class BidirectionalConvLSTM(nn.Module):
    """ConvLSTM run over the section axis both ways; the two hidden states are concatenated, plus the input
    (a residual path, so that a stack of one section still carries its own features)."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.forward_cell, self.backward_cell = ConvLSTMCell(channels, hidden), ConvLSTMCell(channels, hidden)
        self.merge = nn.Sequential(nn.Conv2d(channels + 2 * hidden, channels, 1, bias=False),
                                   nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def _run(self, cell, sequence):
        batch, _, height, width = sequence[0].shape
        h = sequence[0].new_zeros(batch, cell.hidden, height, width)
        state, out = (h, h.clone()), []
        for x in sequence:
            state = cell(x, state)
            out.append(state[0])
        return out

    def forward(self, x, sections):
        """``x``: (batch × sections, C, h, w), sections consecutive per batch item."""
        bs, channels, height, width = x.shape
        seq = list(x.view(bs // sections, sections, channels, height, width).unbind(1))
        forwards = self._run(self.forward_cell, seq)
        backwards = self._run(self.backward_cell, seq[::-1])[::-1]
        merged = [torch.cat([s, f, b], 1) for s, f, b in zip(seq, forwards, backwards)]
        return self.merge(torch.stack(merged, 1).view(bs, -1, height, width))


class GatedShapeStream(nn.Module):
    """Gated-SCNN shape stream: full-resolution features from the first level, gated by deeper levels (each
    projected to the stream's width before upsampling)."""

    def __init__(self, first, deeper, width=8):
        super().__init__()
        self.start = nn.Conv2d(first, width, 1)
        self.refine = nn.ModuleList([nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True))
                                     for _ in deeper])
        self.reduce = nn.ModuleList([nn.Conv2d(c, width, 1) for c in deeper])
        self.gates = nn.ModuleList([nn.Conv2d(2 * width, 1, 1) for _ in deeper])
        self.edge = nn.Conv2d(width, 1, 1)

    def forward(self, first, deeper):
        s = self.start(first)
        for refine, reduce, gate, level in zip(self.refine, self.reduce, self.gates, deeper):
            s = refine(s)
            up = F.interpolate(reduce(level), size=s.shape[2:], mode="bilinear", align_corners=False)
            s = s * (1 + torch.sigmoid(gate(torch.cat([s, up], 1))))
        return self.edge(s)


class MembraneNet(nn.Module):
    """Hybrid 2.5D network (``architecture='hybrid'``) or plain U-Net (``'unet'``), see the module docstring.

    Parameters
    ----------
    architecture : {'hybrid', 'unet'}
    base : int
        Channels of the first level; level k has ``base × 2**k``.
    levels : int
        Encoder levels (poolings = levels − 1 before the bottleneck; inputs must be multiples of 2**levels).
    """

    def __init__(self, architecture="hybrid", base=16, levels=3):
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        self.config = {"architecture": architecture, "base": int(base), "levels": int(levels)}
        hybrid = architecture == "hybrid"
        self.hybrid = hybrid
        widths = [base * 2 ** k for k in range(levels)]
        bottom = base * 2 ** levels
        self.encoder = nn.ModuleList([ConvBlock(1 if k == 0 else widths[k - 1], widths[k], hybrid)
                                      for k in range(levels)])
        if hybrid:
            self.bottleneck = nn.Sequential(ConvBlock(widths[-1], bottom, True), ASPP(bottom, bottom // 2))
            self.recurrent = BidirectionalConvLSTM(bottom // 2, bottom // 4)
            self.shape_stream = GatedShapeStream(widths[0], widths[1:] + [bottom // 2])
        else:
            self.bottleneck = ConvBlock(widths[-1], bottom, False)
        deepest = bottom // 2 if hybrid else bottom
        self.up = nn.ModuleList([nn.ConvTranspose2d(deepest if k == levels - 1 else widths[k + 1], widths[k], 2, 2)
                                 for k in range(levels)])
        self.decoder = nn.ModuleList([ConvBlock(2 * widths[k], widths[k], hybrid) for k in range(levels)])
        self.head = nn.Conv2d(widths[0], 1, 1)

    @property
    def multiple(self):
        """Inputs' height and width must be multiples of this."""
        return 2 ** self.config["levels"]

    def forward(self, stack):
        """``stack``: (batch, sections, H, W) → (membrane logits, edge logits or None), each (batch, sections,
        H, W)."""
        batch, sections, height, width = stack.shape
        x = stack.reshape(batch * sections, 1, height, width)
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        if self.hybrid:
            x = self.recurrent(x, sections)
        bottom = x
        for k in reversed(range(len(self.decoder))):
            x = self.decoder[k](torch.cat([self.up[k](x), skips[k]], 1))
        edges = None
        if self.hybrid:
            edges = self.shape_stream(skips[0], skips[1:] + [bottom])
            x = x * (1 + torch.sigmoid(edges))
        logits = self.head(x).view(batch, sections, height, width)
        return logits, None if edges is None else edges.view(batch, sections, height, width)
