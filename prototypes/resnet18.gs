# ResNet-18 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016), exactly as
# torchvision.models.resnet18: 11,689,512 parameters at 3x224x224 with 1000 classes.
network resnet18 {
  input 3x32x32
  classes 10

  stem { conv(out=64, kernel=7, stride=2) bn relu maxpool(kernel=3, stride=2) }
  modules {
    basic(out=64) * 2
    basic(out=128, stride=2) basic(out=128)
    basic(out=256, stride=2) basic(out=256)
    basic(out=512, stride=2) basic(out=512)
  }
  head { gap linear(out=classes) }
}

# basic block: a projecting shortcut (1x1 conv + bn) where the shape changes
module basic(out, stride=1): residual(shortcut=auto) {
  conv(out=out, stride=stride) bn relu
  conv(out=out) bn
} then { relu }
