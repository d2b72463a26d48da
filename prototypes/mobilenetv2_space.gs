# A MobileNetV2-like search space (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
# Bottlenecks", CVPR 2018, Table 2 widths and strides; the per-slot choices follow the
# ProxylessNAS / FBNet MobileNetV2 space). Each slot is skipped or holds an inverted residual
# with kernel 3, 5 or 7 and expansion 1, 3 or 6.
network mobilenetv2_space {
  input 3x32x32
  classes 10
  divisor 8

  stem { conv(out=32, stride=2) bn relu6 }
  modules {
    ir(out=16)?
    ir(out=24, stride=2)?
    ir(out=24)?
    ir(out=32, stride=2)?
    ir(out=32)? * 2
    ir(out=64, stride=2)?
    ir(out=64)? * 3
    ir(out=96)? * 3
    ir(out=160, stride=2)?
    ir(out=160)? * 2
    ir(out=320)?
  }
  head { pwconv(out=1280) bn relu6 gap dropout(p=0.2) linear(out=classes) }
}

module ir(out, stride=1): mbconv(out=out, stride=stride, kernel=[3, 5, 7], expand=[1, 3, 6])
  { }
