// Size arithmetic that cannot wrap (src/sizes.h), with 32-bit semantics as in wasm32, and the core's
// refusals of shapes and model configs whose sizes do not fit: an error status, before any read.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "attention.h"
#include "model.h"
#include "reference.h"
#include "sizes.h"

namespace qkv {
namespace {

using Size32 = CheckedSize<uint32_t>;

TEST(CheckedSize, ProductsThatWrapA32BitSizeAreOverflows) {
  // Issue 12's model: d_model 4097 × d_ff 2^20 is 2^32 + 2^20, which a 32-bit size_t wraps to 2^20.
  EXPECT_FALSE((Size32(4097) * Size32(1 << 20)).ok());
  EXPECT_FALSE(product<uint32_t>(65537, 65537).ok());
  EXPECT_FALSE(product<uint32_t>(65536, 65536).ok());  // exactly 2^32
  const Size32 largest = product<uint32_t>(65535, 65537);  // 2^32 − 1
  ASSERT_TRUE(largest.ok());
  EXPECT_EQ(largest.value(), 0xffffffffu);
  EXPECT_FALSE((largest + Size32(1)).ok());
  EXPECT_EQ(product<uint32_t>(3, 5, 7).value(), 105u);
  // The same products are exact in 64 bits.
  EXPECT_EQ(product<uint64_t>(4097, 1 << 20).value(), (uint64_t(1) << 32) + (uint64_t(1) << 20));
}

TEST(CheckedSize, OverflowSticksThroughLaterArithmetic) {
  const Size32 wrapped = product<uint32_t>(1 << 16, 1 << 16);
  EXPECT_FALSE((wrapped * Size32(0)).ok()) << "0 × an overflowed count is not 0";
  EXPECT_FALSE((wrapped + Size32(0)).ok());
  Size32 acc = 1;
  acc *= Size32(1 << 20);
  acc *= Size32(1 << 12);
  acc += Size32(1);
  EXPECT_FALSE(acc.ok());
}

TEST(CheckedSize, NegativeAndOutOfRangeIntegersAreOverflows) {
  EXPECT_FALSE(Size32(-1).ok());
  EXPECT_FALSE(product<uint32_t>(2, -3).ok());
  EXPECT_FALSE(Size32(uint64_t(1) << 32).ok());
  EXPECT_TRUE(Size32(0xffffffffu).ok());
  EXPECT_EQ(Size32(0).value(), 0u);
}

TEST(CheckedSize, FitsFloatsCountsTheBytesToo) {
  EXPECT_TRUE(fits_floats(Size32((1u << 30) - 1)));
  EXPECT_FALSE(fits_floats(Size32(1u << 30)));  // 2^30 floats are 2^32 bytes
  EXPECT_FALSE(fits_floats(product<uint32_t>(1 << 16, 1 << 16)));
  EXPECT_TRUE(fits_floats(Size(1) * Size(4096)));
}

TEST(CheckedSize, RoundUp) {
  EXPECT_EQ(round_up(Size32(17), 8u).value(), 24u);
  EXPECT_EQ(round_up(Size32(16), 8u).value(), 16u);
  EXPECT_EQ(round_up(Size32(0), 8u).value(), 0u);
  EXPECT_FALSE(round_up(Size32(0xfffffffau), 8u).ok());
}

// Shapes whose element counts overflow even 64 bits (so they are refused natively and in wasm32
// alike): the old uint64 checks wrapped here, 2^16·2^16·2^16·2^16 to 0, and went on to read q and k.
// The data pointers point at one float, so any read past it is an ASan error in the sanitize build.
TEST(SizeChecks, AttentionRefusesShapesLargerThanTheAddressSpace) {
  float one[1] = {0.5f}, out[1];
  Scratch scratch;
  const int big = std::numeric_limits<int>::max(), w = 1 << 16;
  // batch, heads, queries, keys, dim, valueDim
  for (auto d : std::vector<std::vector<int>>{{big, big, big, 1, big, 1}, {w, w, w, 1, w, 1}, {w, w, 1, w, 1, w},
                                              {w, w, w, w, 1, 1}, {4, 1, big, 1, big, 1}}) {
    AttentionArgs a;
    a.batch = d[0], a.heads = d[1], a.n_q = d[2], a.n_k = d[3], a.dim = d[4], a.value_dim = d[5];
    a.q = a.k = a.v = one;
    a.output = out;
    a.weights = out;  // planes too
    const Status s = attention(a, scalar_kernels(), scratch);
    EXPECT_EQ(s.code, Code::out_of_memory) << s.message;
    EXPECT_NE(s.message.find("larger than the address space"), std::string::npos) << s.message;
  }
}

TEST(SizeChecks, MultiHeadRefusesProjectionsLargerThanTheAddressSpace) {
  float one[1] = {0.5f}, out[1];
  Scratch scratch;
  MhaArgs a;
  // batch·n·d_model and batch·heads·n·n are both 2^64: 0 in the old uint64 checks.
  a.batch = 1 << 16, a.n = 1 << 24, a.d_model = 1 << 24, a.heads = 1;
  a.x = a.w_q = a.w_k = a.w_v = a.w_o = one;
  a.output = out;
  const Status s = multi_head_attention(a, scalar_kernels(), scratch);
  EXPECT_EQ(s.code, Code::out_of_memory) << s.message;
}

TEST(SizeChecks, ModelLayoutCountsAreExactOrRefused) {
  ModelConfig c;
  c.vocab_size = 2, c.d_model = 4097, c.n_layers = 1, c.n_heads = 1, c.d_ff = 1 << 20, c.max_positions = 1;
  std::vector<ModelTensor> layout;
  size_t total = 0;
  const Status s = model_tensor_layout(c, &layout, &total);
  if (sizeof(size_t) == 4) {
    EXPECT_EQ(s.code, Code::out_of_memory);
    EXPECT_NE(s.message.find("layers.0.mlp.w1"), std::string::npos) << s.message;
    return;
  }
  ASSERT_TRUE(s.ok()) << s.message;
  for (const auto& t : layout) {
    if (t.name != "layers.0.mlp.w1") continue;
    EXPECT_EQ(t.count, size_t(4097) << 20);
    EXPECT_EQ(t.shape, (std::vector<int>{4097, 1 << 20}));
  }
}

TEST(SizeChecks, ModelLayoutOfAMillionLayersIsQuickWithoutNames) {
  // A 384-byte file can claim this; the sizes alone are computed without building 16M names.
  ModelConfig c;
  c.vocab_size = 2, c.d_model = 1, c.n_layers = 1 << 20, c.n_heads = 1, c.d_ff = 1, c.max_positions = 1;
  size_t total = 0;
  ASSERT_TRUE(model_tensor_layout(c, nullptr, &total).ok());
  EXPECT_EQ(total, 2u + 1u + (size_t(1) << 20) * 16u + 2u);
}

}  // namespace
}  // namespace qkv
