// Resampling kernels: 2x box halving and the Lanczos reduction used for DeepZoom tiles.
#include "resample.h"

#include <gtest/gtest.h>

namespace reread {
namespace {

TEST(Resample, halving_averages_blocks_and_keeps_odd_edges) {
  const std::uint8_t r0[] = {0, 0, 0, 100, 100, 100, 50, 60, 70};
  const std::uint8_t r1[] = {20, 20, 20, 40, 40, 40, 30, 40, 50};
  std::uint8_t out[6] = {};
  halve_row(r0, r1, 3, out);
  EXPECT_EQ(out[0], 40);  // (0+100+20+40)/4
  EXPECT_EQ(out[3], 40);  // (50+30)/2
  EXPECT_EQ(out[5], 60);  // (70+50)/2
  halve_row(r0, nullptr, 3, out);
  EXPECT_EQ(out[0], 50);
  EXPECT_EQ(out[3], 50);
}

TEST(Resample, lanczos_keeps_flat_colour_and_target_size) {
  RgbImage img(300, 200);
  for (std::size_t i = 0; i < img.pixels.size(); i += 3) {
    img.pixels[i] = 200;
    img.pixels[i + 1] = 100;
    img.pixels[i + 2] = 50;
  }
  const RgbImage out = resize_lanczos(img, 37, 23);
  ASSERT_EQ(out.width, 37);
  ASSERT_EQ(out.height, 23);
  for (std::size_t i = 0; i < out.pixels.size(); i += 3) {
    ASSERT_EQ(out.pixels[i], 200);
    ASSERT_EQ(out.pixels[i + 1], 100);
    ASSERT_EQ(out.pixels[i + 2], 50);
  }
}

}  // namespace
}  // namespace reread
