# A MobileNetV3-style search space: MobileNetV3-Large's widths and strides (Howard et al.,
# "Searching for MobileNetV3", ICCV 2019, Table 1) with, per block, the choices its search
# made: the expansion (3, 4 or 6), the depthwise kernel (3, 5 or 7), squeeze-excite (none, or a
# quarter of the expanded channels gated by a hard sigmoid) and the activation (ReLU or
# h-swish). Every block after the first of its stage may be left out. MobileNetV3-Large itself
# (prototypes/mobilenetv3_large.gs) is near this space: its expansions 2.3-6 are not all among
# 3, 4 and 6.
network mobilenetv3_space {
  input 3x32x32
  classes 10
  divisor 8

  stem { conv(out=16, stride=2) bn hswish }
  modules {
    bneck(out=16, expand=1)
    bneck(out=24, stride=2) bneck(out=24)?
    bneck(out=40, stride=2) bneck(out=40)? * 2
    bneck(out=80, stride=2) bneck(out=80)? * 3
    bneck(out=112) bneck(out=112)?
    bneck(out=160, stride=2) bneck(out=160)? * 2
  }
  head {
    pwconv(out=960) bn hswish gap
    linear(out=1280) hswish dropout(p=0.2) linear(out=classes)
  }
}

module bneck(out, stride=1, expand=[3, 4, 6]): mbconv(out=out, stride=stride, expand=expand,
  kernel=[3, 5, 7], se=[0, 0.25], gate=hsigmoid, act=[relu, hswish]) { }
