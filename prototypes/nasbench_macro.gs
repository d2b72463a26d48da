# NAS-Bench-Macro (Su et al., "Prioritized Architecture Sampling with Monte-Carlo Tree Search",
# CVPR 2021): a public tabular benchmark whose 3^8 = 6,561 encodings were trained on CIFAR-10.
# Stem 3x3 conv to 32, three stages of 2, 3 and 3 searchable layers (the first of each stage
# has stride 2 and doubles the channels, 32 -> 64 -> 128 -> 256), head 1x1 conv to 1280, global
# average pooling, linear. Each layer is an inverted residual with expansion 3 and a 3x3
# depthwise kernel, one with expansion 6 and a 5x5 kernel, or an identity (a skipped slot; one
# that starts a stage becomes a 1x1 conv with stride 2 + BN, as the benchmark defines it).
# Encoding digit d of a layer is option (d + 2) % 3 here: 1 -> 0, 2 -> 1, 0 -> 2 (skip).
network nasbench_macro {
  input 3x32x32
  classes 10

  stem { conv(out=32) bn relu }
  modules {
    (ir3(out=64, stride=2) | ir6(out=64, stride=2) | skip)
    (ir3(out=64) | ir6(out=64) | skip)
    (ir3(out=128, stride=2) | ir6(out=128, stride=2) | skip)
    (ir3(out=128) | ir6(out=128) | skip) * 2
    (ir3(out=256, stride=2) | ir6(out=256, stride=2) | skip)
    (ir3(out=256) | ir6(out=256) | skip) * 2
  }
  head { pwconv(out=1280) bn relu gap linear(out=classes) }
}

module ir3(out, stride=1): mbconv(out=out, stride=stride, expand=3, kernel=3, act=relu) { }
module ir6(out, stride=1): mbconv(out=out, stride=stride, expand=6, kernel=5, act=relu) { }
