// Slide access through OpenSlide: metadata, pixels, concurrency and clear errors for bad files.
#include "slide_source.h"

#include <gtest/gtest.h>

#include <thread>

#include "slide_error.h"
#include "test_environment.h"

namespace reread {
namespace {

std::string shared(const char* name) { return (test::shared_slides() / name).string(); }

TEST(SlideSource, reads_aperio_metadata) {
  REREAD_REQUIRE_SHARED_SLIDES();
  const auto slide = open_slide(shared("CMU-1-Small-Region.svs"));
  const SlideInfo& info = slide->info();
  EXPECT_EQ(info.vendor, "aperio");
  ASSERT_EQ(info.level_count(), 1);
  EXPECT_EQ(info.level_dimensions[0], (Size{2220, 2967}));
  EXPECT_DOUBLE_EQ(info.level_downsamples[0], 1.0);
  ASSERT_TRUE(info.mpp_x && info.mpp_y && info.objective_power);
  EXPECT_NEAR(*info.mpp_x, 0.499, 1e-6);
  EXPECT_NEAR(*info.mpp_y, 0.499, 1e-6);
  EXPECT_DOUBLE_EQ(*info.objective_power, 20.0);
  EXPECT_FALSE(info.quickhash.empty());
  EXPECT_EQ(info.properties.at("openslide.vendor"), "aperio");
  std::set<std::string> names;
  for (const auto& a : info.associated_images) names.insert(a.name);
  EXPECT_EQ(names, (std::set<std::string>{"label", "macro", "thumbnail"}));
}

TEST(SlideSource, reads_region_and_associated_image_pixels) {
  REREAD_REQUIRE_SHARED_SLIDES();
  const auto slide = open_slide(shared("CMU-1-Small-Region.svs"));
  const RgbImage region = slide->read_region(1000, 1000, 0, 64, 48);
  ASSERT_EQ(region.width, 64);
  ASSERT_EQ(region.height, 48);
  long sum = 0;
  for (auto v : region.pixels) sum += v;
  EXPECT_LT(sum / static_cast<long>(region.pixels.size()), 240) << "expected tissue, not blank glass";
  const RgbImage label = slide->associated_image("label");
  EXPECT_GT(label.width, 0);
  EXPECT_GT(label.height, 0);
  EXPECT_THROW(slide->associated_image("no-such-image"), SlideError);
}

TEST(SlideSource, composites_outside_the_slide_on_background) {
  REREAD_REQUIRE_SHARED_SLIDES();
  const auto slide = open_slide(shared("CMU-1-Small-Region.svs"));
  const RgbImage outside = slide->read_region(-100, -100, 0, 10, 10);
  for (auto v : outside.pixels) ASSERT_EQ(v, 255) << "transparent pixels must become the background colour (white)";
}

TEST(SlideSource, concurrent_reads_equal_serial_reads) {
  REREAD_REQUIRE_SHARED_SLIDES();
  const auto slide = open_slide(shared("CMU-1-Small-Region.svs"));
  std::vector<RgbImage> serial;
  for (int i = 0; i < 16; ++i) serial.push_back(slide->read_region(i * 100, i * 150, 0, 200, 200));
  std::vector<RgbImage> parallel(16);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 16; i += 4) parallel[i] = slide->read_region(i * 100, i * 150, 0, 200, 200);
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 16; ++i) EXPECT_EQ(parallel[i].pixels, serial[i].pixels) << "region " << i;
}

void expect_open_error(const std::string& path, const std::string& cause_part) {
  try {
    open_slide(path);
    ADD_FAILURE() << path << " opened, expected an error mentioning '" << cause_part << "'";
  } catch (const SlideError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find(cause_part), std::string::npos) << e.what();
  }
}

TEST(SlideSource, refuses_files_that_are_not_slides_with_clear_errors) {
  REREAD_REQUIRE_SHARED_SLIDES();
  expect_open_error(shared("boxes.png"), "unsupported format");
  expect_open_error(shared("boxes_0.dcm"), "unsupported format");
  expect_open_error(shared("unopenable.tiff"), "Unsupported TIFF compression");
  expect_open_error(shared("does-not-exist.svs"), "no such file");
  expect_open_error(test::shared_slides().string(), "is a directory");
}

TEST(SlideSource, corrupt_tile_data_fails_every_read_clearly_and_stays_failed) {
  REREAD_REQUIRE_SHARED_SLIDES();
  const auto slide = open_slide(shared("unreadable.svs"));
  EXPECT_EQ(slide->info().level_dimensions[0], (Size{16, 16}));
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      slide->read_region(0, 0, 0, 16, 16);
      ADD_FAILURE() << "reading corrupt tile data succeeded";
    } catch (const SlideError& e) {
      EXPECT_NE(std::string(e.what()).find("unreadable.svs"), std::string::npos) << e.what();
      EXPECT_NE(e.operation().find("read region"), std::string::npos) << e.what();
      EXPECT_FALSE(e.cause().empty());
    }
  }
}

TEST(SlideSource, rejects_invalid_levels_and_sizes) {
  REREAD_REQUIRE_SHARED_SLIDES();
  const auto slide = open_slide(shared("small.svs"));
  EXPECT_THROW(slide->read_region(0, 0, 7, 10, 10), SlideError);
  EXPECT_THROW(slide->read_region(0, 0, 0, -1, 10), SlideError);
  EXPECT_THROW(slide->read_region(0, 0, 0, 100000, 100000), SlideError);
}

}  // namespace
}  // namespace reread
