// Slide access through OpenSlide: metadata, pixels, concurrency and clear errors for bad files.
#include "slide_source.h"

#include <gtest/gtest.h>

#include <thread>

#include "image_codec.h"
#include "openslide_source.h"
#include "resample.h"
#include "slide_error.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"
#include "tile_renderer.h"

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

// The direct JPEG path must give exactly OpenSlide's pixels, at every level and at the edges.
void expect_direct_reads_match_openslide(const std::string& path) {
  const OpenSlideSource direct(path, true);
  const OpenSlideSource plain(path, false);
  ASSERT_NE(direct.stored_tiles(), nullptr) << path << " should have directly readable JPEG tiles";
  EXPECT_EQ(plain.stored_tiles(), nullptr);
  const SlideInfo& info = direct.info();
  for (int level = 0; level < info.level_count(); ++level) {
    ASSERT_NE(direct.stored_tiles()->level(level), nullptr) << "level " << level;
    const auto ds = static_cast<std::int64_t>(info.level_downsamples[level]);
    const Size dim = info.level_dimensions[level];
    const std::vector<std::array<std::int64_t, 4>> regions = {
        {0, 0, std::min<std::int64_t>(dim.width, 700), std::min<std::int64_t>(dim.height, 500)},
        {dim.width - 300, dim.height - 200, 400, 300},  // runs past the right and bottom edges
        {-50, -20, 200, 100},                           // starts outside
        {dim.width / 3, dim.height / 3, 257, 255}};
    for (const auto& [x, y, w, h] : regions) {
      const RgbImage a = direct.read_region(x * ds, y * ds, level, static_cast<int>(w), static_cast<int>(h));
      const RgbImage b = plain.read_region(x * ds, y * ds, level, static_cast<int>(w), static_cast<int>(h));
      EXPECT_EQ(a.pixels, b.pixels) << path << " level " << level << " region " << x << "," << y << " " << w << "x"
                                    << h;
    }
  }
}

TEST(SlideSource, direct_jpeg_tiles_give_openslides_pixels_on_aperio) {
  REREAD_REQUIRE_SHARED_SLIDES();
  expect_direct_reads_match_openslide(shared("CMU-1-Small-Region.svs"));
}

TEST(SlideSource, direct_jpeg_tiles_give_openslides_pixels_on_synthetic_pyramid) {
  test::TempDir dir;
  SyntheticSlideOptions o;
  o.spec = {5000, 3000, 4, 0.25};
  write_synthetic_slide(dir / "s.svs", o);
  expect_direct_reads_match_openslide((dir / "s.svs").string());
}

TEST(SlideSource, levels_with_rounded_sizes_are_read_on_their_whole_grid) {
  test::TempDir dir;
  SyntheticSlideOptions o;
  o.spec = {6050, 4030, 7, 0.25};  // level 1 is 1513 x 1008: downsample 3.998..., made by halving twice
  write_synthetic_slide(dir / "s.svs", o);
  const OpenSlideSource direct((dir / "s.svs").string(), true);
  const OpenSlideSource plain((dir / "s.svs").string(), false);
  const SlideInfo& info = direct.info();
  ASSERT_NE(info.level_downsamples[1], 4.0);
  EXPECT_EQ(info.grid_downsample(1), 4.0);
  EXPECT_EQ(info.grid_downsample(0), 1.0);
  // The far corner, where a 3.998 mapping drifts furthest: the direct path reads the stored pixels
  // at exactly x0 / 4; OpenSlide interpolates a fraction of a pixel away, so they are close, not equal.
  const RgbImage a = direct.read_region(4 * 1200, 4 * 700, 1, 256, 256);
  const RgbImage stored = decode_jpeg(direct.stored_tiles()->raw_tile(1, 4, 2));
  // Level 1's tile (4, 2) starts at level pixel (1024, 512); its part inside the read is 80 x 68 px.
  for (int y = 0; y < 512 + 256 - 700; ++y) {
    const std::uint8_t* got = a.row(y);
    const std::uint8_t* want = stored.row(y + 700 - 512) + (1200 - 1024) * 3;
    ASSERT_TRUE(std::equal(got, got + (1024 + 256 - 1200) * 3, want)) << "row " << y;
  }
  // OpenSlide maps x0 = 4800 to level pixel 1200.6 and interpolates: the same picture, 0.6 px away.
  const RgbImage b = plain.read_region(4 * 1200, 4 * 700, 1, 256, 256);
  EXPECT_GE(test::psnr(a, b), 25.0);

  // DeepZoom tiles 4x and 16x down come from the stored 4x and 16x levels, read on their whole grid.
  const TileRenderer renderer(direct, {254, 1, false});
  const int top = renderer.geometry().level_count() - 1;
  for (const auto& [down, level] : {std::pair{4, 1}, std::pair{16, 2}}) {
    const int dz_level = top - (down == 4 ? 2 : 4);
    const RgbImage tile = renderer.render(dz_level, 1, 0);
    const RgbImage stored_region = direct.read_region(std::int64_t{down} * 253, 0, level, tile.width, tile.height);
    EXPECT_EQ(tile.pixels, stored_region.pixels) << down << "x down";
  }
}

TEST(SlideSource, stored_tile_bytes_are_complete_jpeg_streams) {
  REREAD_REQUIRE_SHARED_SLIDES();
  const OpenSlideSource slide(shared("CMU-1-Small-Region.svs"));
  const TiledJpegTiff* tiles = slide.stored_tiles();
  ASSERT_NE(tiles, nullptr);
  const auto* level = tiles->level(0);
  ASSERT_NE(level, nullptr);
  EXPECT_EQ(level->tile_width, 240);
  const auto bytes = tiles->raw_tile(0, 2, 3);
  const RgbImage tile = decode_jpeg(bytes);
  const RgbImage region = slide.read_region(2 * 240, 3 * 240, 0, 240, 240);
  EXPECT_EQ(tile.pixels, region.pixels);
  EXPECT_THROW(tiles->raw_tile(0, 1000, 0), std::runtime_error);
}

}  // namespace
}  // namespace reread

namespace reread {
namespace {

TEST(SlideSource, dct_scaled_reads_shrink_in_the_decoder_and_keep_the_picture) {
  test::TempDir dir;
  SyntheticSlideOptions o;
  o.spec = {4000, 3000, 6, 0.25};
  write_synthetic_slide(dir / "s.svs", o);
  const OpenSlideSource slide((dir / "s.svs").string());
  for (int scale : {2, 4, 8}) {
    RgbImage small(1024 / scale, 768 / scale);
    ASSERT_TRUE(slide.read_region_dct_scaled(512, 256, 0, scale, small.width, small.height, small.pixels.data(),
                                             small.stride()))
        << "scale " << scale;
    const RgbImage full = resize_lanczos(slide.read_region(512, 256, 0, 1024, 768), small.width, small.height);
    EXPECT_GE(test::psnr(small, full), 30.0) << "scale " << scale;
  }
  RgbImage out(10, 10);
  EXPECT_FALSE(slide.read_region_dct_scaled(3, 0, 0, 2, 10, 10, out.pixels.data(), out.stride()))
      << "an origin off the scaled grid must not be read this way";
  EXPECT_FALSE(slide.read_region_dct_scaled(0, 0, 0, 3, 10, 10, out.pixels.data(), out.stride()));
}

}  // namespace
}  // namespace reread
