# MnasNet's factorized hierarchical search space (Tan et al., "MnasNet: Platform-Aware Neural
# Architecture Search for Mobile", CVPR 2019, section 4.1 and Figure 4), on MobileNetV2's seven
# blocks (widths, strides and layer counts of its Table 2). Each block chooses once, for all its
# layers (tied choices named b<N>...): the convolution (b<N>op: a regular conv, a depthwise-
# separable conv, or an inverted bottleneck with expansion 3 or 6), the kernel (3 or 5), squeeze-
# excite on the inverted bottlenecks (ratio 0 or 0.25 of the block's input channels), the skip
# (an identity residual where the shape is kept, or none), and the filter size (0.75, 1.0 or
# 1.25 of the reference width); and the layer count: each block's last reference layer and one
# extra layer are optional, so a block has one layer fewer, as many, or one more (a block of one
# layer keeps it). The paper's pooling skip is left out. MnasNet-A1 (prototypes/mnasnet_a1.gs)
# is close to this space: its widths 40, 80 and 112 are 1.25 x 32 and 64 and about 1.17 x 96.
network mnasnet_space {
  input 3x32x32
  classes 10
  divisor 8

  stem { conv(out=32, stride=2) bn relu }
  modules {
    # block 1: 16 channels, stride 1, 1 layer in MobileNetV2
    (conv_op(out=16 * [0.75, 1.0, 1.25] as b1w, stride=1, kernel=[3, 5] as b1k, skip=[match, none] as b1s)
     | sep_op(out=16 * [0.75, 1.0, 1.25] as b1w, stride=1, kernel=[3, 5] as b1k, skip=[match, none] as b1s)
     | mb_op(out=16 * [0.75, 1.0, 1.25] as b1w, stride=1, kernel=[3, 5] as b1k, skip=[match, none] as b1s, expand=3, se=[0, 0.25] as b1se)
     | mb_op(out=16 * [0.75, 1.0, 1.25] as b1w, stride=1, kernel=[3, 5] as b1k, skip=[match, none] as b1s, expand=6, se=[0, 0.25] as b1se)) as b1op
    (conv_op(out=16 * [0.75, 1.0, 1.25] as b1w, stride=1, kernel=[3, 5] as b1k, skip=[match, none] as b1s)
     | sep_op(out=16 * [0.75, 1.0, 1.25] as b1w, stride=1, kernel=[3, 5] as b1k, skip=[match, none] as b1s)
     | mb_op(out=16 * [0.75, 1.0, 1.25] as b1w, stride=1, kernel=[3, 5] as b1k, skip=[match, none] as b1s, expand=3, se=[0, 0.25] as b1se)
     | mb_op(out=16 * [0.75, 1.0, 1.25] as b1w, stride=1, kernel=[3, 5] as b1k, skip=[match, none] as b1s, expand=6, se=[0, 0.25] as b1se))? as b1op
    # block 2: 24 channels, stride 2, 2 layers in MobileNetV2
    (conv_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=2, kernel=[3, 5] as b2k, skip=[match, none] as b2s)
     | sep_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=2, kernel=[3, 5] as b2k, skip=[match, none] as b2s)
     | mb_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=2, kernel=[3, 5] as b2k, skip=[match, none] as b2s, expand=3, se=[0, 0.25] as b2se)
     | mb_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=2, kernel=[3, 5] as b2k, skip=[match, none] as b2s, expand=6, se=[0, 0.25] as b2se)) as b2op
    (conv_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=1, kernel=[3, 5] as b2k, skip=[match, none] as b2s)
     | sep_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=1, kernel=[3, 5] as b2k, skip=[match, none] as b2s)
     | mb_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=1, kernel=[3, 5] as b2k, skip=[match, none] as b2s, expand=3, se=[0, 0.25] as b2se)
     | mb_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=1, kernel=[3, 5] as b2k, skip=[match, none] as b2s, expand=6, se=[0, 0.25] as b2se))? as b2op
    (conv_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=1, kernel=[3, 5] as b2k, skip=[match, none] as b2s)
     | sep_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=1, kernel=[3, 5] as b2k, skip=[match, none] as b2s)
     | mb_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=1, kernel=[3, 5] as b2k, skip=[match, none] as b2s, expand=3, se=[0, 0.25] as b2se)
     | mb_op(out=24 * [0.75, 1.0, 1.25] as b2w, stride=1, kernel=[3, 5] as b2k, skip=[match, none] as b2s, expand=6, se=[0, 0.25] as b2se))? as b2op
    # block 3: 32 channels, stride 2, 3 layers in MobileNetV2
    (conv_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=2, kernel=[3, 5] as b3k, skip=[match, none] as b3s)
     | sep_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=2, kernel=[3, 5] as b3k, skip=[match, none] as b3s)
     | mb_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=2, kernel=[3, 5] as b3k, skip=[match, none] as b3s, expand=3, se=[0, 0.25] as b3se)
     | mb_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=2, kernel=[3, 5] as b3k, skip=[match, none] as b3s, expand=6, se=[0, 0.25] as b3se)) as b3op
    (conv_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s)
     | sep_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s)
     | mb_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s, expand=3, se=[0, 0.25] as b3se)
     | mb_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s, expand=6, se=[0, 0.25] as b3se)) as b3op
    (conv_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s)
     | sep_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s)
     | mb_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s, expand=3, se=[0, 0.25] as b3se)
     | mb_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s, expand=6, se=[0, 0.25] as b3se))? as b3op
    (conv_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s)
     | sep_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s)
     | mb_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s, expand=3, se=[0, 0.25] as b3se)
     | mb_op(out=32 * [0.75, 1.0, 1.25] as b3w, stride=1, kernel=[3, 5] as b3k, skip=[match, none] as b3s, expand=6, se=[0, 0.25] as b3se))? as b3op
    # block 4: 64 channels, stride 2, 4 layers in MobileNetV2
    (conv_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=2, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | sep_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=2, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=2, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=3, se=[0, 0.25] as b4se)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=2, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=6, se=[0, 0.25] as b4se)) as b4op
    (conv_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | sep_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=3, se=[0, 0.25] as b4se)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=6, se=[0, 0.25] as b4se)) as b4op
    (conv_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | sep_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=3, se=[0, 0.25] as b4se)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=6, se=[0, 0.25] as b4se)) as b4op
    (conv_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | sep_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=3, se=[0, 0.25] as b4se)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=6, se=[0, 0.25] as b4se))? as b4op
    (conv_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | sep_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=3, se=[0, 0.25] as b4se)
     | mb_op(out=64 * [0.75, 1.0, 1.25] as b4w, stride=1, kernel=[3, 5] as b4k, skip=[match, none] as b4s, expand=6, se=[0, 0.25] as b4se))? as b4op
    # block 5: 96 channels, stride 1, 3 layers in MobileNetV2
    (conv_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s)
     | sep_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s)
     | mb_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s, expand=3, se=[0, 0.25] as b5se)
     | mb_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s, expand=6, se=[0, 0.25] as b5se)) as b5op
    (conv_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s)
     | sep_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s)
     | mb_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s, expand=3, se=[0, 0.25] as b5se)
     | mb_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s, expand=6, se=[0, 0.25] as b5se)) as b5op
    (conv_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s)
     | sep_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s)
     | mb_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s, expand=3, se=[0, 0.25] as b5se)
     | mb_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s, expand=6, se=[0, 0.25] as b5se))? as b5op
    (conv_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s)
     | sep_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s)
     | mb_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s, expand=3, se=[0, 0.25] as b5se)
     | mb_op(out=96 * [0.75, 1.0, 1.25] as b5w, stride=1, kernel=[3, 5] as b5k, skip=[match, none] as b5s, expand=6, se=[0, 0.25] as b5se))? as b5op
    # block 6: 160 channels, stride 2, 3 layers in MobileNetV2
    (conv_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=2, kernel=[3, 5] as b6k, skip=[match, none] as b6s)
     | sep_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=2, kernel=[3, 5] as b6k, skip=[match, none] as b6s)
     | mb_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=2, kernel=[3, 5] as b6k, skip=[match, none] as b6s, expand=3, se=[0, 0.25] as b6se)
     | mb_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=2, kernel=[3, 5] as b6k, skip=[match, none] as b6s, expand=6, se=[0, 0.25] as b6se)) as b6op
    (conv_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s)
     | sep_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s)
     | mb_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s, expand=3, se=[0, 0.25] as b6se)
     | mb_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s, expand=6, se=[0, 0.25] as b6se)) as b6op
    (conv_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s)
     | sep_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s)
     | mb_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s, expand=3, se=[0, 0.25] as b6se)
     | mb_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s, expand=6, se=[0, 0.25] as b6se))? as b6op
    (conv_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s)
     | sep_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s)
     | mb_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s, expand=3, se=[0, 0.25] as b6se)
     | mb_op(out=160 * [0.75, 1.0, 1.25] as b6w, stride=1, kernel=[3, 5] as b6k, skip=[match, none] as b6s, expand=6, se=[0, 0.25] as b6se))? as b6op
    # block 7: 320 channels, stride 1, 1 layer in MobileNetV2
    (conv_op(out=320 * [0.75, 1.0, 1.25] as b7w, stride=1, kernel=[3, 5] as b7k, skip=[match, none] as b7s)
     | sep_op(out=320 * [0.75, 1.0, 1.25] as b7w, stride=1, kernel=[3, 5] as b7k, skip=[match, none] as b7s)
     | mb_op(out=320 * [0.75, 1.0, 1.25] as b7w, stride=1, kernel=[3, 5] as b7k, skip=[match, none] as b7s, expand=3, se=[0, 0.25] as b7se)
     | mb_op(out=320 * [0.75, 1.0, 1.25] as b7w, stride=1, kernel=[3, 5] as b7k, skip=[match, none] as b7s, expand=6, se=[0, 0.25] as b7se)) as b7op
    (conv_op(out=320 * [0.75, 1.0, 1.25] as b7w, stride=1, kernel=[3, 5] as b7k, skip=[match, none] as b7s)
     | sep_op(out=320 * [0.75, 1.0, 1.25] as b7w, stride=1, kernel=[3, 5] as b7k, skip=[match, none] as b7s)
     | mb_op(out=320 * [0.75, 1.0, 1.25] as b7w, stride=1, kernel=[3, 5] as b7k, skip=[match, none] as b7s, expand=3, se=[0, 0.25] as b7se)
     | mb_op(out=320 * [0.75, 1.0, 1.25] as b7w, stride=1, kernel=[3, 5] as b7k, skip=[match, none] as b7s, expand=6, se=[0, 0.25] as b7se))? as b7op
  }
  head { pwconv(out=1280) bn relu gap dropout(p=0.2) linear(out=classes) }
}

module conv_op(out, stride, kernel, skip): residual(shortcut=skip) {
  conv(out=out, kernel=kernel, stride=stride) bn relu
}
module sep_op(out, stride, kernel, skip): residual(shortcut=skip) {
  dwconv(kernel=kernel, stride=stride) bn relu pwconv(out=out) bn
}
module mb_op(out, stride, kernel, skip, expand, se): mbconv(out=out, stride=stride,
  kernel=kernel, expand=expand, se=se, se_of=block_in, act=relu, shortcut=skip) { }
