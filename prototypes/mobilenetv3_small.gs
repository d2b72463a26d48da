# MobileNetV3-Small 1.0 (Howard et al., "Searching for MobileNetV3", ICCV 2019, Table 2), exactly
# as torchvision.models.mobilenet_v3_small: 2,542,856 parameters and 57 M MACs at 3x224x224 with
# 1000 classes (the paper: 2.5 M, 56 M MAdds). Squeeze-excite on the expanded channels, a
# quarter of them rounded to a multiple of 8, gated by a hard sigmoid. Declared small for
# quick checks.
network mobilenetv3_small {
  input 3x32x32
  classes 10
  divisor 8

  stem { conv(out=16, stride=2) bn hswish }
  modules {
    re_se(out=16, hidden=16, stride=2)
    re(out=24, hidden=72, stride=2)
    re(out=24, hidden=88)
    hs_se(out=40, hidden=96, kernel=5, stride=2)
    hs_se(out=40, hidden=240, kernel=5) * 2
    hs_se(out=48, hidden=120, kernel=5)
    hs_se(out=48, hidden=144, kernel=5)
    hs_se(out=96, hidden=288, kernel=5, stride=2)
    hs_se(out=96, hidden=576, kernel=5) * 2
  }
  head {
    pwconv(out=576) bn hswish gap
    linear(out=1024) hswish dropout(p=0.2) linear(out=classes)
  }
}

# The bottleneck (bneck) of the paper's table: ReLU or h-swish, with or without squeeze-excite.
module re(out, hidden, kernel=3, stride=1): mbconv(out=out, hidden=hidden, kernel=kernel,
  stride=stride, act=relu) { }
module re_se(out, hidden, kernel=3, stride=1): mbconv(out=out, hidden=hidden, kernel=kernel,
  stride=stride, act=relu, se=0.25, gate=hsigmoid) { }
module hs_se(out, hidden, kernel=3, stride=1): mbconv(out=out, hidden=hidden, kernel=kernel,
  stride=stride, act=hswish, se=0.25, gate=hsigmoid) { }
