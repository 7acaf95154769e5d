"""Mixed-Scale Dense network (Pelt & Sethian, PNAS 2018) in plain PyTorch, with memory linear in depth.

Layer ``i`` convolves *every* earlier feature map (the input and all previous layers) with a 3×3 (2D) or
3×3×3 (3D) kernel at dilation ``1 + i % max_dilation`` and applies a ReLU; a final 1×1 layer combines all
maps. There is no pooling or upsampling.

A naive implementation concatenates the feature maps before every layer, and autograd keeps each of those
concatenations: memory grows with depth². Here all maps live in one ``(c_in + depth·width)``-channel buffer
filled in place, and a custom backward walks the layers in reverse, using only that buffer (a ReLU's output
is positive exactly where its input is), so the memory kept for the backward pass is the buffer itself.
The hidden layers' convolutions run through :mod:`.tap_conv` (a matrix product per layer on the CPU).
"""
import math

import torch
from torch import nn

from .tap_conv import CONV, dilated_conv, dilated_conv_backward


def dilation_of(layer, max_dilation):
    """Dilation of hidden layer ``layer`` (0-based): 1, 2, ..., max_dilation, 1, 2, ..."""
    return 1 + layer % max_dilation


class _MSDFunction(torch.autograd.Function):
    """Forward and backward of the whole network over a single in-place feature buffer."""

    @staticmethod
    def forward(ctx, x, dilations, width, final_weight, final_bias, *params):
        weights, biases = params[0::2], params[1::2]
        conv = CONV[x.dim() - 2]
        c_in = x.shape[1]
        buffer = x.new_empty((x.shape[0], c_in + len(weights) * width, *x.shape[2:]))
        buffer[:, :c_in] = x
        for i, (weight, bias, dilation) in enumerate(zip(weights, biases, dilations)):
            start = c_in + i * width
            layer = dilated_conv(buffer[:, :start], weight, bias, dilation)
            buffer[:, start:start + width] = torch.relu_(layer)
            del layer
        out = conv(buffer, final_weight, final_bias)
        ctx.save_for_backward(buffer, final_weight, *weights)
        ctx.dilations, ctx.width, ctx.c_in = dilations, width, c_in
        return out

    @staticmethod
    def backward(ctx, grad_out):
        buffer, final_weight, *weights = ctx.saved_tensors
        dims = buffer.dim() - 2
        ones, zeros = [1] * dims, [0] * dims
        grad_buffer, grad_final_weight, grad_final_bias = torch.ops.aten.convolution_backward(
            grad_out.contiguous(), buffer, final_weight, [final_weight.shape[0]], ones, zeros, ones,
            False, zeros, 1, [True, True, True])
        grads = []
        for i in reversed(range(len(weights))):
            start = ctx.c_in + i * ctx.width
            dilation = ctx.dilations[i]
            layer_out = buffer[:, start:start + ctx.width]
            grad_layer = (grad_buffer[:, start:start + ctx.width] * (layer_out > 0)).contiguous()
            wants_input = ctx.needs_input_grad[0] or i > 0
            grad_weight, grad_bias = dilated_conv_backward(
                grad_layer, buffer[:, :start], weights[i], dilation, grad_buffer[:, :start] if wants_input else None)
            grads.append((grad_weight, grad_bias))
            del grad_layer
        params_grads = [g for pair in reversed(grads) for g in pair]
        grad_x = grad_buffer[:, :ctx.c_in] if ctx.needs_input_grad[0] else None
        return (grad_x, None, None, grad_final_weight, grad_final_bias, *params_grads)


class MSDNet(nn.Module):
    """Mixed-Scale Dense network.

    Parameters
    ----------
    in_channels, out_channels : int
    depth : int
        Number of hidden layers (the paper uses 100 for 2D).
    width : int
        Feature maps per hidden layer (the paper uses 1).
    dims : {2, 3}
        2D (3×3 kernels, input N, C, H, W) or 3D (3×3×3, input N, C, D, H, W).
    max_dilation : int
        Dilations cycle 1..max_dilation over the layers (the paper uses 10).

    Notes
    -----
    Outputs are logits; apply a sigmoid for probabilities. Hidden weights start from He initialisation
    over each layer's fan-in; the final 1×1 layer starts at zero, as in the paper.
    """

    def __init__(self, in_channels=1, out_channels=1, depth=100, width=1, dims=2, max_dilation=10):
        super().__init__()
        if dims not in CONV:
            raise ValueError(f"dims must be 2 or 3, got {dims}")
        if min(in_channels, out_channels, depth, width, max_dilation) < 1:
            raise ValueError("in_channels, out_channels, depth, width and max_dilation must all be at least 1")
        self.config = dict(in_channels=in_channels, out_channels=out_channels, depth=depth, width=width,
                           dims=dims, max_dilation=max_dilation)
        self.dilations = [dilation_of(i, max_dilation) for i in range(depth)]
        kernel = (3,) * dims
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for i in range(depth):
            fan_in = (in_channels + i * width) * 3 ** dims
            weight = torch.randn(width, in_channels + i * width, *kernel) * math.sqrt(2.0 / fan_in)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(torch.zeros(width)))
        total = in_channels + depth * width
        self.final_weight = nn.Parameter(torch.zeros(out_channels, total, *(1,) * dims))
        self.final_bias = nn.Parameter(torch.zeros(out_channels))

    @property
    def dims(self):
        return self.config["dims"]

    @property
    def receptive_field(self):
        """Side of the receptive field in voxels: every 3-wide kernel at dilation s adds 2·s."""
        return 1 + 2 * sum(self.dilations)

    def forward(self, x):
        if x.dim() != self.dims + 2 or x.shape[1] != self.config["in_channels"]:
            raise ValueError(f"expected input of shape (N, {self.config['in_channels']}, "
                             f"{', '.join('DHW'[3 - self.dims:])}), got {tuple(x.shape)}")
        params = [p for pair in zip(self.weights, self.biases) for p in pair]
        return _MSDFunction.apply(x, self.dilations, self.config["width"], self.final_weight, self.final_bias,
                                  *params)

    def forward_naive(self, x):
        """Reference forward with concatenation and plain autograd (memory quadratic in depth); for tests."""
        conv = CONV[self.dims]
        maps = x
        for weight, bias, dilation in zip(self.weights, self.biases, self.dilations):
            maps = torch.cat([maps, torch.relu(conv(maps, weight, bias, padding=dilation, dilation=dilation))], 1)
        return conv(maps, self.final_weight, self.final_bias)


def forward_and_backward(net, x, devices=("cpu", "cuda")):
    """Run our forward and the naive one, each followed by the backward of mean(output²), on each device.

    For checking the hand-written backward and the devices against each other (tests, ``check_cuda.py``).

    Returns
    -------
    dict
        ``{(device, "ours" | "naive"): (output, every parameter's gradient flattened into one tensor)}``.
    """
    results = {}
    for device in devices:
        net = net.to(device)
        for name, forward in (("ours", net.forward), ("naive", net.forward_naive)):
            net.zero_grad()
            out = forward(x.to(device))
            (out ** 2).mean().backward()
            results[device, name] = (out, torch.cat([p.grad.flatten() for p in net.parameters()]))
    return results


def relative_difference(a, b):
    """Largest absolute difference of two tensors over the largest magnitude of ``b``."""
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).abs().max() / max(float(b.abs().max()), 1e-12))
