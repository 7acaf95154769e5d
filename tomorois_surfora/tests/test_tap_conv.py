"""The matrix-product dilated convolution equals PyTorch's convolution, forward and backward."""
import pytest
import torch

from tomorois_surfora.engine.roi.tap_conv import CONV, dilated_conv, dilated_conv_backward, tap_offsets


def test_tap_offsets_follow_the_kernels_weight_order():
    offsets = tap_offsets(2, 3)
    assert offsets[0] == (-3, -3) and offsets[4] == (0, 0) and offsets[5] == (0, 3) and offsets[8] == (3, 3)
    assert len(tap_offsets(3, 1)) == 27


# Dilations up to beyond the volume's side: those taps read only zero padding and must add nothing.
@pytest.mark.parametrize("dims, shape", [(2, (3, 5, 11, 6)), (3, (2, 4, 5, 9, 7))])
@pytest.mark.parametrize("dilation", [1, 2, 5, 10])
def test_matches_torch_convolution_on_a_channel_slice(dims, shape, dilation):
    torch.manual_seed(dilation)
    buffer = torch.randn(shape[0], shape[1] + 3, *shape[2:], dtype=torch.float64)
    x = buffer[:, :shape[1]]  # a channel slice, as the MS-D layers read it
    weight = torch.randn(2, shape[1], *(3,) * dims, dtype=torch.float64)
    bias = torch.randn(2, dtype=torch.float64)
    grad_out = torch.randn(shape[0], 2, *shape[2:], dtype=torch.float64)

    xr, wr, br = (t.clone().requires_grad_() for t in (x, weight, bias))
    reference = CONV[dims](xr, wr, br, padding=dilation, dilation=dilation)
    reference.backward(grad_out)

    torch.testing.assert_close(dilated_conv(x, weight, bias, dilation), reference.detach())
    accumulated = torch.ones_like(x)
    grad_weight, grad_bias = dilated_conv_backward(grad_out, x, weight, dilation, accumulated)
    torch.testing.assert_close(accumulated, 1 + xr.grad)  # added to what was there
    torch.testing.assert_close(grad_weight, wr.grad)
    torch.testing.assert_close(grad_bias, br.grad)
    assert dilated_conv_backward(grad_out, x, weight, dilation)[0].shape == weight.shape
