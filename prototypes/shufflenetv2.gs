# ShuffleNetV2 1.0x (Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN
# Architecture Design", ECCV 2018), exactly as torchvision.models.shufflenet_v2_x1_0:
# 2,278,604 parameters at 3x224x224 with 1000 classes.
network shufflenetv2 {
  input 3x32x32
  classes 10

  stem { conv(out=24, stride=2) bn relu maxpool(kernel=3, stride=2) }
  modules {
    down(out=116) unit * 3
    down(out=232) unit * 7
    down(out=464) unit * 3
  }
  head { pwconv(out=1024) bn relu gap linear(out=classes) }
}

# down-sampling unit: both branches see the whole input
module down(out): split {
  branch { dwconv(stride=2) bn pwconv(out=out / 2) bn relu }
  branch { pwconv(out=out / 2) bn relu dwconv(stride=2) bn pwconv(out=out / 2) bn relu }
} then { shuffle(groups=2) }

# basic unit: half the channels pass through, the other half goes through the branch
module unit: split {
  branch { }
  branch { pwconv bn relu dwconv bn pwconv bn relu }
} then { shuffle(groups=2) }
