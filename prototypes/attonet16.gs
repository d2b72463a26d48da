# AttoNet prototype (Wong, Lin, Chwyl: "AttoNets: Compact and Efficient Deep Neural Networks for
# the Edge via Human-Machine Collaborative Design", 2019). The human fixes the network level:
# a stem, 16 residual module slots, global average pooling, a fully connected layer, softmax.
# The machine designs each module: a pointwise squeeze whose width is a ratio of the input
# channels, a grouped kxk convolution with or without stride, back-to-back pointwise
# convolutions (the second one optional), and an identity or a projecting shortcut. Widths
# grow by stage; kept modest so a sample trains fast on a CPU (about 0.5-10 M MACs at 1x8x8).
network attonet16 {
  input 3x32x32
  classes 10
  divisor 8

  stem { conv(out=16) bn relu }
  modules {
    atto(out=[16, 24, 32]) * 4
    atto(out=[24, 32, 48], stride=[1, 2])
    atto(out=[24, 32, 48]) * 3
    atto(out=[32, 48, 64], stride=[1, 2])
    atto(out=[32, 48, 64]) * 3
    atto(out=[48, 64, 96, 128], stride=[1, 2])
    atto(out=[48, 64, 96, 128]) * 3
  }
  head { gap linear(out=classes) softmax }
}

module atto(out, stride=1): residual(shortcut=[identity, project]) {
  pwconv(out=in * [0.25, 0.5, 0.75]) bn relu
  conv(kernel=[3, 5], stride=stride, groups=[1, 2, 4, 8]) bn relu
  pwconv(out=out) bn
  (relu pwconv(out=out) bn)?
} then { relu }
