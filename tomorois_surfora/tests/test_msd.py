"""MS-D network: the in-place buffer with a custom backward equals naive concatenation, in less memory."""
import pytest
import torch

from tomorois_surfora.engine.roi.memory import autograd_saved_bytes
from tomorois_surfora.engine.roi.msd import MSDNet, dilation_of


def _net(dims, depth=12, width=2, in_channels=2, out_channels=2):
    torch.manual_seed(0)
    net = MSDNet(in_channels, out_channels, depth=depth, width=width, dims=dims, max_dilation=4).double()
    with torch.no_grad():  # the final layer starts at zero; make it non-trivial so every gradient is checked
        net.final_weight.normal_()
        for bias in net.biases:
            bias.normal_(0, 0.1)
    return net


@pytest.mark.parametrize("dims, shape", [(2, (2, 2, 17, 13)), (3, (2, 2, 9, 11, 7))])
def test_outputs_and_gradients_match_naive_concatenation(dims, shape):
    net = _net(dims)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    target = torch.randn(shape[0], 2, *shape[2:], dtype=torch.float64)

    results = []
    for forward in (net.forward, net.forward_naive):
        net.zero_grad()
        x.grad = None
        out = forward(x)
        ((out - target) ** 2).sum().backward()
        results.append((out.detach(), x.grad.clone(), [p.grad.clone() for p in net.parameters()]))

    (out, gx, gp), (ref_out, ref_gx, ref_gp) = results
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(gx, ref_gx)
    assert len(gp) == len(ref_gp) == 2 * 12 + 2
    for got, expected in zip(gp, ref_gp):
        torch.testing.assert_close(got, expected)


def test_gradcheck_on_a_tiny_network():
    net = _net(2, depth=3, width=1, in_channels=1, out_channels=1)
    x = torch.randn(1, 1, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: net(inp), (x,))


def test_memory_kept_for_backward_grows_linearly_with_depth():
    x = torch.randn(1, 1, 64, 64, requires_grad=True)
    ours, naive = {}, {}
    for depth in (20, 40):
        torch.manual_seed(0)
        net = MSDNet(1, 1, depth=depth, width=1, dims=2)
        ours[depth] = autograd_saved_bytes(net, net.forward, x)
        naive[depth] = autograd_saved_bytes(net, net.forward_naive, x)
    buffer_bytes = lambda depth: (1 + depth) * 64 * 64 * 4  # noqa: E731
    # Ours keeps the one feature buffer (input excluded: it is not saved separately).
    assert ours[20] == buffer_bytes(20) and ours[40] == buffer_bytes(40)
    # Naive keeps every concatenation: ~depth²/2 maps. At depth 40 that is > 10× ours.
    assert naive[40] / ours[40] > 10
    assert naive[40] / naive[20] > 3.5 and ours[40] / ours[20] < 2.1


def test_shapes_dilations_and_bad_input():
    assert [dilation_of(i, 10) for i in range(12)] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2]
    net = MSDNet(1, 3, depth=10, width=1, dims=3)
    assert net(torch.zeros(1, 1, 8, 9, 10)).shape == (1, 3, 8, 9, 10)
    assert net.receptive_field == 1 + 2 * 55
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 1, D, H, W\)"):
        net(torch.zeros(1, 1, 8, 9))
    with pytest.raises(ValueError, match="dims must be 2 or 3"):
        MSDNet(dims=4)
