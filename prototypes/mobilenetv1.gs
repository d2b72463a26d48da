# MobileNetV1 1.0 (Howard et al., "MobileNets", 2017, Table 1): 4,231,976 parameters at
# 3x224x224 with 1000 classes (batch norm after every convolution, fc with bias).
network mobilenetv1 {
  input 3x32x32
  classes 10

  stem { conv(out=32, stride=2) bn relu }
  modules {
    dws(out=64)
    dws(out=128, stride=2) dws(out=128)
    dws(out=256, stride=2) dws(out=256)
    dws(out=512, stride=2) dws(out=512) * 5
    dws(out=1024, stride=2) dws(out=1024)
  }
  head { gap linear(out=classes) }
}

# depthwise separable convolution
module dws(out, stride=1) {
  dwconv(stride=stride) bn relu
  pwconv(out=out) bn relu
}
