# MobileNetV3-Large 1.0 (Howard et al., "Searching for MobileNetV3", ICCV 2019, Table 1), exactly
# as torchvision.models.mobilenet_v3_large: 5,483,032 parameters and 217 M MACs at 3x224x224 with
# 1000 classes (the paper: 5.4 M, 219 M MAdds). Squeeze-excite on the expanded channels, a
# quarter of them rounded to a multiple of 8, gated by a hard sigmoid. Declared small for
# quick checks.
network mobilenetv3_large {
  input 3x32x32
  classes 10
  divisor 8

  stem { conv(out=16, stride=2) bn hswish }
  modules {
    re(out=16, hidden=16)
    re(out=24, hidden=64, stride=2)
    re(out=24, hidden=72)
    re_se(out=40, hidden=72, kernel=5, stride=2)
    re_se(out=40, hidden=120, kernel=5) * 2
    hs(out=80, hidden=240, stride=2)
    hs(out=80, hidden=200)
    hs(out=80, hidden=184) * 2
    hs_se(out=112, hidden=480)
    hs_se(out=112, hidden=672)
    hs_se(out=160, hidden=672, kernel=5, stride=2)
    hs_se(out=160, hidden=960, kernel=5) * 2
  }
  head {
    pwconv(out=960) bn hswish gap
    linear(out=1280) hswish dropout(p=0.2) linear(out=classes)
  }
}

# The bottleneck (bneck) of the paper's table: ReLU or h-swish, with or without squeeze-excite.
module re(out, hidden, kernel=3, stride=1): mbconv(out=out, hidden=hidden, kernel=kernel,
  stride=stride, act=relu) { }
module re_se(out, hidden, kernel=3, stride=1): mbconv(out=out, hidden=hidden, kernel=kernel,
  stride=stride, act=relu, se=0.25, gate=hsigmoid) { }
module hs(out, hidden, kernel=3, stride=1): mbconv(out=out, hidden=hidden, kernel=kernel,
  stride=stride, act=hswish) { }
module hs_se(out, hidden, kernel=3, stride=1): mbconv(out=out, hidden=hidden, kernel=kernel,
  stride=stride, act=hswish, se=0.25, gate=hsigmoid) { }
