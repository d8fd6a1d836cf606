"""The Conv3d -> BatchNorm3d -> ReLU unit that every temporal module is assembled from."""

from __future__ import annotations

from torch import Tensor, nn

from ctnet_lib.ops.conv_lowering import Conv3d


def triple(value: int | tuple[int, int, int]) -> tuple[int, int, int]:
    return value if isinstance(value, tuple) else (value, value, value)


def same_padding(kernel_size: tuple[int, int, int]) -> tuple[int, int, int]:
    """Padding that keeps (T, H, W) for odd kernels at stride 1."""
    return tuple(k // 2 for k in kernel_size)  # type: ignore[return-value]


def conv3d(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int, int],
    stride: int | tuple[int, int, int] = 1,
    groups: int = 1,
    bias: bool = False,
) -> Conv3d:
    """A 'same'-padded Conv3d (bias off by default, since a BatchNorm usually follows) that runs as a 2D
    convolution where its kernel and the device allow (see ``conv_lowering``)."""
    kernel_size = triple(kernel_size)
    return Conv3d(
        in_channels, out_channels, kernel_size, stride=stride, padding=same_padding(kernel_size),
        groups=groups, bias=bias,
    )


class ConvBnAct3d(nn.Module):
    """conv -> BN -> ReLU on x: (N, C, T, H, W); ``groups`` contiguous channel groups mix separately."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int],
        stride: int | tuple[int, int, int] = 1,
        groups: int = 1,
    ) -> None:
        super().__init__()
        self.conv = conv3d(in_channels, out_channels, kernel_size, stride=stride, groups=groups)
        self.bn = nn.BatchNorm3d(out_channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.activate(self.conv(x))

    def activate(self, conv_output: Tensor) -> Tensor:
        """BN -> ReLU of the conv's output (the part that ``checkpointing='activations'`` recomputes)."""
        return self.act(self.bn(conv_output))
