"""The tiny space the supernet tests share: two choices per slot, every kind of shortcut."""

TINY = """
network tiny {
  input 1x8x8
  classes 10
  stem { conv(out=[8, 16]) bn relu }
  modules { blk(out=[8, 16]) * 2 }
  head { gap linear(out=classes) }
}
module blk(out): residual(shortcut=[identity, project]) {
  pwconv(out=out) bn relu conv(kernel=[3, 5], groups=[1, 2]) bn (relu)?
} then { relu }
"""
