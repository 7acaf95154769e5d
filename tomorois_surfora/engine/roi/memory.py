"""Measure the memory autograd keeps for a backward pass (used by tests and benchmarks)."""
import torch


def autograd_saved_bytes(module, forward, x):
    """Run ``forward(x).sum().backward()`` and return the bytes of tensors autograd saved for it.

    Tensors that are ``module``'s parameters are not counted: they exist with or without autograd.
    """
    parameters = {p.data_ptr() for p in module.parameters()}
    total = 0

    def pack(tensor):
        nonlocal total
        if tensor.data_ptr() not in parameters:
            total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        forward(x).sum().backward()
    return total
