# MobileNetV2 1.0 (Sandler et al., CVPR 2018), exactly as torchvision.models.mobilenet_v2:
# 3,504,872 parameters at 3x224x224 with 1000 classes. Declared small for quick checks.
network mobilenetv2 {
  input 3x32x32
  classes 10
  divisor 8

  stem { conv(out=32, stride=2) bn relu6 }
  modules {
    ir(out=16, expand=1)
    ir(out=24, stride=2) ir(out=24)
    ir(out=32, stride=2) ir(out=32) * 2
    ir(out=64, stride=2) ir(out=64) * 3
    ir(out=96) * 3
    ir(out=160, stride=2) ir(out=160) * 2
    ir(out=320)
  }
  head { pwconv(out=1280) bn relu6 gap dropout(p=0.2) linear(out=classes) }
}

module ir(out, stride=1, expand=6): mbconv(out=out, stride=stride, expand=expand) { }
