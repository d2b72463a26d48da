# MnasNet-A1 (Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile",
# CVPR 2019, Figure 7), as timm's semnasnet_100 and the TensorFlow reference: 3,887,038
# parameters and 312 M MACs at 3x224x224 with 1000 classes (the paper: 3.9 M, 312 M).
# Squeeze-excite on a quarter of each block's input channels, gated by a sigmoid; no divisor,
# so those counts stay as they are (6, 10, 20, 28, 40). Declared small for quick checks.
network mnasnet_a1 {
  input 3x32x32
  classes 10

  stem { conv(out=32, stride=2) bn relu }
  modules {
    sep(out=16)
    mb(out=24, expand=6, stride=2) mb(out=24, expand=6)
    mb_se(out=40, expand=3, kernel=5, stride=2) mb_se(out=40, expand=3, kernel=5) * 2
    mb(out=80, expand=6, stride=2) mb(out=80, expand=6) * 3
    mb_se(out=112, expand=6) * 2
    mb_se(out=160, expand=6, kernel=5, stride=2) mb_se(out=160, expand=6, kernel=5) * 2
    mb(out=320, expand=6)
  }
  head { pwconv(out=1280) bn relu gap dropout(p=0.2) linear(out=classes) }
}

# SepConv: a depthwise 3x3 then a pointwise projection, no shortcut.
module sep(out): mbconv(out=out, expand=1, act=relu, shortcut=none) { }
module mb(out, expand, kernel=3, stride=1): mbconv(out=out, expand=expand, kernel=kernel,
  stride=stride, act=relu) { }
module mb_se(out, expand, kernel=3, stride=1): mbconv(out=out, expand=expand, kernel=kernel,
  stride=stride, act=relu, se=0.25, se_of=block_in) { }
