"""The fixed text of a generated model file: module classes, ``load()`` and the main block.

Kept apart from :mod:`genesynth.codegen` so the generator reads as logic; these classes
mirror :mod:`genesynth.blocks.torch_modules` (same attribute names, so the same state-dict
keys) but are written for a reader, with shape comments.
"""

from __future__ import annotations

LOAD = '''def load(weights_path: str | Path | None = None) -> Network:
    """The trained network in eval mode, weights from ``weights_path`` or WEIGHTS."""
    model = build()
    path = WEIGHTS if weights_path is None else Path(weights_path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()'''

MAIN = '''if __name__ == "__main__":
    model = load() if WEIGHTS.exists() else build().eval()
    x = torch.randn(1, *INPUT_SHAPE)  # (1, C, H, W)
    with torch.no_grad():
        y = model(x)
    print(f"{NAME}: input {tuple(x.shape)} -> output {tuple(y.shape)}")'''

CLASS_ORDER = ("ChannelShuffle", "SqueezeExcite", "Residual", "Split")

TEMPLATES = {
    "ChannelShuffle": '''class ChannelShuffle(nn.Module):
    """Interleave channels across ``groups`` (ShuffleNet), so split branches mix."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w)  # (N, g, C/g, H, W)
        return x.transpose(1, 2).reshape(n, c, h, w)  # (N, C, H, W), channels interleaved''',
    "SqueezeExcite": '''class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: pool, squeeze to ``mid`` channels, excite back, gate, scale."""

    def __init__(self, channels: int, mid: int, act: nn.Module, gate: nn.Module) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(channels, mid, 1)
        self.act = act
        self.excite = nn.Conv2d(mid, channels, 1)
        self.gate = gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1)
        s = self.gate(self.excite(self.act(self.squeeze(s))))  # (N, C, 1, 1), in (0, 1)
        return x * s  # (N, C, H, W)''',
    "Residual": '''class Residual(nn.Module):
    """``post(body(x) + shortcut(x))``; the shortcut is the identity or a 1x1 projection."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None, post: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.post = post

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)  # (N, C_out, H_out, W_out)
        if self.shortcut is not None:
            y = y + self.shortcut(x)  # the shortcut gives the body's shape
        return self.post(y)''',
    "Split": '''class Split(nn.Module):
    """Two branches concatenated on channels; with ``split_at`` the input is split first."""

    def __init__(
        self, left: nn.Module, right: nn.Module, split_at: int | None, post: nn.Module
    ) -> None:
        super().__init__()
        self.left = left
        self.right = right
        self.split_at = split_at
        self.post = post

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.split_at is None:
            a, b = x, x  # both branches see every channel
        else:
            a, b = x[:, : self.split_at], x[:, self.split_at :]  # (N, C1, H, W), (N, C2, H, W)
        y = torch.cat((self.left(a), self.right(b)), dim=1)  # (N, C_left + C_right, H', W')
        return self.post(y)''',
}
