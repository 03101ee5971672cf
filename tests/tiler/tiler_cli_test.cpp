// reread-tiler as a user runs it: real slides in, files out, and one clear line for every bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "deepzoom_geometry.h"
#include "image_codec.h"
#include "resample.h"
#include "slide_source.h"
#include "test_environment.h"
#include "tile_renderer.h"

namespace reread {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::quote;

test::CommandResult tiler(const std::string& args) { return test::run_command(quote(test::tiler_bin()) + " " + args); }

std::string shared(const char* name) { return (test::shared_slides() / name).string(); }

// A failed command prints one line that names the file, exits non-zero, and does not crash.
void expect_clean_failure(const test::CommandResult& r, const std::string& must_mention) {
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_LT(r.exit_code, 128) << "crashed: " << r.output;
  EXPECT_NE(r.output.find(must_mention), std::string::npos)
      << "message should mention '" << must_mention << "': " << r.output;
  std::string trimmed = r.output;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  EXPECT_EQ(trimmed.find('\n'), std::string::npos) << "expected a one-line message: " << r.output;
}

std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.insert(fs::relative(e.path(), dir).string());
  }
  return out;
}

RgbImage load_tile(const fs::path& p) {
  const std::string bytes = test::read_text(p);
  const std::span data(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return p.extension() == ".png" ? decode_png(data) : decode_jpeg(data);
}

TEST(TilerCli, info_prints_slide_metadata_as_json) {
  REREAD_REQUIRE_SHARED_SLIDES();
  const auto r = tiler("info " + quote(shared("CMU-1-Small-Region.svs")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_EQ(j["vendor"], "aperio");
  EXPECT_EQ(j["dimensions"], json({2220, 2967}));
  EXPECT_EQ(j["level_count"], 1);
  EXPECT_NEAR(j["mpp_x"].get<double>(), 0.499, 1e-6);
  EXPECT_EQ(j["objective_power"], 20.0);
  EXPECT_EQ(j["associated_images"].size(), 3u);
  EXPECT_EQ(j["properties"]["aperio.AppMag"], "20");
}

TEST(TilerCli, dzi_writes_the_deepzoom_layout_with_reference_geometry) {
  REREAD_REQUIRE_SHARED_SLIDES();
  test::TempDir out;
  const std::string slide = shared("CMU-1-Small-Region.svs");
  const auto r = tiler("dzi " + quote(slide) + " " + quote(out.path()) + " --name cmu --format png --jobs 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const auto source = open_slide(slide);
  const TileRenderer reference_renderer(*source, {254, 1, false});
  const DeepZoomGeometry& g = reference_renderer.geometry();
  std::set<std::string> expected;
  for (int l = 0; l < g.level_count(); ++l) {
    for (std::int64_t row = 0; row < g.level_tiles(l).height; ++row) {
      for (std::int64_t col = 0; col < g.level_tiles(l).width; ++col) {
        expected.insert("cmu_files/" + std::to_string(l) + "/" + std::to_string(col) + "_" + std::to_string(row) +
                        ".png");
      }
    }
  }
  expected.insert("cmu.dzi");
  EXPECT_EQ(files_under(out.path()), expected);
  EXPECT_EQ(test::read_text(out / "cmu.dzi"), g.dzi_xml("png"));

  // Every tile has the reference's size; finest tiles are the slide's pixels, coarser ones close.
  for (int l = 0; l < g.level_count(); ++l) {
    for (std::int64_t row = 0; row < g.level_tiles(l).height; ++row) {
      for (std::int64_t col = 0; col < g.level_tiles(l).width; ++col) {
        const std::string name = std::to_string(col) + "_" + std::to_string(row) + ".png";
        const RgbImage got = load_tile(out.path() / "cmu_files" / std::to_string(l) / name);
        const auto src = g.tile(l, col, row);
        ASSERT_EQ(got.width, src->output_size.width) << l << "/" << name;
        ASSERT_EQ(got.height, src->output_size.height) << l << "/" << name;
        if (std::max(g.level_dimensions(l).width, g.level_dimensions(l).height) >= 256) {
          const double p = test::psnr(got, reference_renderer.render(l, col, row));
          EXPECT_GE(p, l == g.level_count() - 1 ? 99.0 : 30.0) << l << "/" << name;
        }
      }
    }
  }
}

TEST(TilerCli, dzi_jpeg_tiles_decode_at_the_requested_quality) {
  REREAD_REQUIRE_SHARED_SLIDES();
  test::TempDir out;
  const auto r = tiler("dzi " + quote(shared("CMU-1-Small-Region.svs")) + " " + quote(out.path()) +
                       " --tile-size 256 --overlap 0 --quality 90");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const RgbImage tile = load_tile(out.path() / "CMU-1-Small-Region_files/12/3_4.jpeg");
  EXPECT_EQ(tile.width, 256);
  EXPECT_EQ(tile.height, 256);
  EXPECT_NE(test::read_text(out / "CMU-1-Small-Region.dzi").find("TileSize=\"256\" Overlap=\"0\" Format=\"jpeg\""),
            std::string::npos);
}

TEST(TilerCli, pyramid_writes_a_tiff_openslide_opens_with_same_size_and_mpp) {
  REREAD_REQUIRE_SHARED_SLIDES();
  test::TempDir out;
  const std::string slide = shared("CMU-1-Small-Region.svs");
  const auto r = tiler("pyramid " + quote(slide) + " " + quote(out / "cmu.tif") + " --quality 92");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto src = open_slide(slide);
  const auto pyr = open_slide((out / "cmu.tif").string());
  const SlideInfo& info = pyr->info();
  // Written with an Aperio description: it is how OpenSlide learns MPP and objective power from a TIFF.
  EXPECT_EQ(info.vendor, "aperio");
  EXPECT_EQ(info.properties.at("openslide.objective-power"), "20");
  EXPECT_EQ(info.level_dimensions[0], src->info().level_dimensions[0]);
  ASSERT_TRUE(info.mpp_x && info.mpp_y) << "MPP lost";
  EXPECT_NEAR(*info.mpp_x, *src->info().mpp_x, 1e-3);
  EXPECT_NEAR(*info.mpp_y, *src->info().mpp_y, 1e-3);
  ASSERT_GE(info.level_count(), 4);
  EXPECT_EQ(info.level_dimensions[1], (Size{1110, 1484}));
  EXPECT_EQ(info.properties.at("tiff.Software"), "Reread");
  const RgbImage a = src->read_region(600, 900, 0, 512, 512);
  const RgbImage b = pyr->read_region(600, 900, 0, 512, 512);
  // 4:2:0 chroma subsampling of this 4:4:4 source costs a few dB even at Q92.
  EXPECT_GE(test::psnr(a, b), 30.0) << "pyramid level 0 must hold the slide's pixels";
  // Level 2 is the slide reduced 4x.
  const RgbImage small = pyr->read_region(0, 0, 2, 555, 742);
  EXPECT_GE(test::psnr(small, resize_lanczos(src->read_region(0, 0, 0, 2220, 2967), 555, 742)), 30.0);
}

TEST(TilerCli, synth_writes_an_aperio_slide_openslide_opens) {
  test::TempDir out;
  const auto r = tiler("synth " + quote(out / "demo.svs") + " --width 3000 --height 2000 --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto slide = open_slide((out / "demo.svs").string());
  const SlideInfo& info = slide->info();
  EXPECT_EQ(info.vendor, "aperio");
  EXPECT_EQ(info.level_dimensions[0], (Size{3000, 2000}));
  ASSERT_GE(info.level_count(), 2);
  EXPECT_EQ(info.level_dimensions[1], (Size{750, 500}));
  ASSERT_TRUE(info.mpp_x && info.objective_power);
  EXPECT_DOUBLE_EQ(*info.mpp_x, 0.25);
  EXPECT_DOUBLE_EQ(*info.objective_power, 40.0);
  std::set<std::string> names;
  for (const auto& a : info.associated_images) names.insert(a.name);
  EXPECT_EQ(names, (std::set<std::string>{"label", "macro", "thumbnail"}));
  EXPECT_GT(slide->associated_image("label").width, 0);
  // Level 1 is level 0 reduced 4x: the same picture.
  const RgbImage l1 = slide->read_region(0, 0, 1, 750, 500);
  const RgbImage l0 = slide->read_region(0, 0, 0, 3000, 2000);
  RgbImage l0_small(750, 500);
  for (int y = 0; y < 500; ++y) {
    for (int x = 0; x < 750; ++x) {
      for (int c = 0; c < 3; ++c) {
        int s = 0;
        for (int dy = 0; dy < 4; ++dy) {
          for (int dx = 0; dx < 4; ++dx) s += l0.row(y * 4 + dy)[(x * 4 + dx) * 3 + c];
        }
        l0_small.row(y)[x * 3 + c] = static_cast<std::uint8_t>((s + 8) / 16);
      }
    }
  }
  EXPECT_GE(test::psnr(l1, l0_small), 30.0);
}

TEST(TilerCli, synth_same_seed_gives_same_bytes) {
  test::TempDir out;
  for (const char* d : {"a", "b", "c"}) fs::create_directories(out / d);
  // The file name is part of the Aperio description, so each run writes s.svs in its own folder.
  ASSERT_EQ(tiler("synth " + quote(out / "a/s.svs") + " --width 1500 --height 1000 --seed 11 --jobs 2").exit_code, 0);
  ASSERT_EQ(tiler("synth " + quote(out / "b/s.svs") + " --width 1500 --height 1000 --seed 11 --jobs 1").exit_code, 0);
  ASSERT_EQ(tiler("synth " + quote(out / "c/s.svs") + " --width 1500 --height 1000 --seed 12").exit_code, 0);
  const std::string a = test::read_text(out / "a/s.svs"), b = test::read_text(out / "b/s.svs");
  const std::string c = test::read_text(out / "c/s.svs");
  EXPECT_GT(a.size(), 10000u);
  EXPECT_TRUE(a == b) << "same seed, different bytes (" << a.size() << " vs " << b.size() << " bytes)";
  EXPECT_FALSE(a == c) << "different seeds gave the same file";
}

TEST(TilerCli, synth_memory_is_bounded_by_width_not_area) {
  test::TempDir out;
  // 2000 x 60000 px: 360 MB of raw RGB if it were held whole.
  const auto r = test::run_command("/usr/bin/time -f 'peak_kib=%M' " + quote(test::tiler_bin()) + " synth " +
                                   quote(out / "tall.svs") + " --width 2000 --height 60000 --jobs 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto at = r.output.find("peak_kib=");
  ASSERT_NE(at, std::string::npos) << r.output;
  const long peak_kib = std::stol(r.output.substr(at + 9));
  EXPECT_LT(peak_kib, 120 * 1024) << "synth held " << peak_kib / 1024 << " MiB; it should stream in strips";
  const auto slide = open_slide((out / "tall.svs").string());
  EXPECT_EQ(slide->info().level_dimensions[0], (Size{2000, 60000}));
}

TEST(TilerCli, bad_slides_give_one_line_errors_and_leave_no_output) {
  REREAD_REQUIRE_SHARED_SLIDES();
  test::TempDir out;
  const std::vector<std::pair<const char*, const char*>> bad = {
      {"boxes.png", "unsupported format"},
      {"boxes_0.dcm", "unsupported format"},
      {"unopenable.tiff", "Unsupported TIFF compression"},
      {"missing.svs", "no such file"},
  };
  for (const auto& [file, cause] : bad) {
    SCOPED_TRACE(file);
    const std::string path = shared(file);
    expect_clean_failure(tiler("info " + quote(path)), path);
    expect_clean_failure(tiler("info " + quote(path)), cause);
    expect_clean_failure(tiler("dzi " + quote(path) + " " + quote(out.path())), path);
    expect_clean_failure(tiler("pyramid " + quote(path) + " " + quote(out / "x.tif")), path);
  }
  // unreadable.svs opens; its pixels fail in the middle of the work.
  const std::string corrupt = shared("unreadable.svs");
  EXPECT_EQ(tiler("info " + quote(corrupt)).exit_code, 0);
  expect_clean_failure(tiler("dzi " + quote(corrupt) + " " + quote(out.path())), corrupt);
  expect_clean_failure(tiler("pyramid " + quote(corrupt) + " " + quote(out / "x.tif")), corrupt);
  EXPECT_EQ(files_under(out.path()), std::set<std::string>{}) << "a failed run must not leave output behind";
  EXPECT_TRUE(fs::is_empty(out.path()));
}

TEST(TilerCli, unwritable_outputs_fail_cleanly) {
  REREAD_REQUIRE_SHARED_SLIDES();
  test::TempDir out;
  test::write_text_file(out / "a-file", "x");
  const std::string slide = shared("small.svs");
  expect_clean_failure(tiler("dzi " + quote(slide) + " " + quote(out / "a-file")), "a-file");
  expect_clean_failure(tiler("pyramid " + quote(slide) + " " + quote(out / "a-file/x.tif")), "a-file");
  expect_clean_failure(tiler("synth " + quote(out / "no-dir/x.svs") + " --width 512 --height 512"), "no-dir");
  EXPECT_EQ(files_under(out.path()), std::set<std::string>{"a-file"});
}

TEST(TilerCli, nonsense_options_are_refused) {
  test::TempDir out;
  const std::string slide = (test::shared_slides() / "small.svs").string();
  for (const std::string& args :
       {std::string("dzi ") + quote(slide) + " " + quote(out.path()) + " --tile-size 0",
        std::string("dzi ") + quote(slide) + " " + quote(out.path()) + " --quality 101",
        std::string("dzi ") + quote(slide) + " " + quote(out.path()) + " --overlap -1",
        std::string("dzi ") + quote(slide) + " " + quote(out.path()) + " --format gif",
        std::string("dzi ") + quote(slide) + " " + quote(out.path()) + " --jobs zero",
        std::string("dzi ") + quote(slide) + " " + quote(out.path()) + " --frobnicate",
        std::string("pyramid ") + quote(slide) + " " + quote(out / "x.tif") + " --tile-size 100",
        std::string("synth ") + quote(out / "x.svs") + " --width 0 --height 100",
        std::string("synth ") + quote(out / "x.svs") + " --width abc --height 100",
        std::string("synth ") + quote(out / "x.svs") + " --width 1000", std::string("transmogrify"), std::string("")}) {
    SCOPED_TRACE(args);
    const auto r = tiler(args);
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_LT(r.exit_code, 128) << r.output;
    EXPECT_FALSE(r.output.empty());
  }
  EXPECT_TRUE(fs::is_empty(out.path()));
}

}  // namespace
}  // namespace reread
