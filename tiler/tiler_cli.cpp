// reread-tiler: inspect slides, cut DeepZoom pyramids, write pyramidal TIFFs and synthetic slides.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "dzi_writer.h"
#include "slide_error.h"
#include "slide_source.h"
#include "strip_reader.h"
#include "synthetic_slide_writer.h"
#include "tiff_pyramid_writer.h"

namespace {

using reread::Progress;
using json = nlohmann::json;

json slide_info_json(const reread::SlideInfo& info) {
  json j;
  j["path"] = info.path;
  j["vendor"] = info.vendor;
  j["quickhash"] = info.quickhash;
  j["dimensions"] = {info.level_dimensions.front().width, info.level_dimensions.front().height};
  j["level_count"] = info.level_count();
  j["levels"] = json::array();
  for (int i = 0; i < info.level_count(); ++i) {
    j["levels"].push_back({{"width", info.level_dimensions[i].width},
                           {"height", info.level_dimensions[i].height},
                           {"downsample", info.level_downsamples[i]}});
  }
  j["mpp_x"] = info.mpp_x ? json(*info.mpp_x) : json(nullptr);
  j["mpp_y"] = info.mpp_y ? json(*info.mpp_y) : json(nullptr);
  j["objective_power"] = info.objective_power ? json(*info.objective_power) : json(nullptr);
  if (info.bounds_x || info.bounds_y || info.bounds_width || info.bounds_height) {
    j["bounds"] = {{"x", info.bounds_x.value_or(0)},
                   {"y", info.bounds_y.value_or(0)},
                   {"width", info.bounds_width.value_or(info.level_dimensions.front().width)},
                   {"height", info.bounds_height.value_or(info.level_dimensions.front().height)}};
  } else {
    j["bounds"] = nullptr;
  }
  char bg[8];
  std::snprintf(bg, sizeof bg, "#%02x%02x%02x", info.background[0], info.background[1], info.background[2]);
  j["background_color"] = bg;
  j["associated_images"] = json::array();
  for (const auto& a : info.associated_images) {
    j["associated_images"].push_back({{"name", a.name}, {"width", a.width}, {"height", a.height}});
  }
  j["properties"] = info.properties;
  return j;
}

// A one-line progress bar on a terminal; silent when stderr is a file or a pipe.
Progress terminal_progress(const std::string& what) {
  if (!::isatty(STDERR_FILENO)) return {};
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [what, last](std::int64_t done, std::int64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    const int width = 40;
    const double f = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int filled = static_cast<int>(f * width);
    std::fprintf(stderr, "\r%s [%s%s] %3d%% %lld/%lld tiles", what.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), static_cast<int>(f * 100), static_cast<long long>(done),
                 static_cast<long long>(total));
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

void print_times(const reread::PyramidStreamTimes& t) {
  std::cerr << json{{"produce_s", t.produce},
                    {"downsample_s", t.downsample},
                    {"encode_s", t.encode},
                    {"store_s", t.store}}
                   .dump()
            << "\n";
}

int default_jobs() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reread-tiler: whole-slide images to DeepZoom pyramids, pyramidal TIFFs and synthetic slides"};
  app.require_subcommand(1);

  std::string slide_path, out_path, name, format = "jpeg";
  int tile_size = 254, overlap = 1, quality = 75, jobs = default_jobs();
  bool limit_bounds = false, timings = false;

  auto* info = app.add_subcommand("info", "print a slide's metadata as JSON");
  info->add_option("SLIDE", slide_path, "slide file")->required();

  auto* dzi = app.add_subcommand("dzi", "write NAME.dzi and NAME_files/L/C_R.jpeg (DeepZoom)");
  dzi->add_option("SLIDE", slide_path, "slide file")->required();
  dzi->add_option("OUTDIR", out_path, "output directory")->required();
  dzi->add_option("--name", name, "output name (default: the slide's file name without extension)");
  dzi->add_option("--tile-size", tile_size, "tile size in pixels")->check(CLI::Range(1, 8192))->capture_default_str();
  dzi->add_option("--overlap", overlap, "tile overlap in pixels")->check(CLI::Range(0, 64))->capture_default_str();
  dzi->add_option("--quality", quality, "JPEG quality")->check(CLI::Range(1, 100))->capture_default_str();
  dzi->add_option("--format", format, "tile format")
      ->check(CLI::IsMember({"jpeg", "jpg", "png"}))
      ->capture_default_str();
  dzi->add_option("--jobs,-j", jobs, "worker threads")->check(CLI::Range(1, 256))->capture_default_str();
  dzi->add_flag("--limit-bounds", limit_bounds, "tile only the slide's non-empty bounds");

  int pyr_tile = 256, pyr_quality = 75;
  auto* pyramid = app.add_subcommand("pyramid", "write a tiled, JPEG-compressed pyramidal BigTIFF");
  pyramid->add_option("SLIDE", slide_path, "slide file")->required();
  pyramid->add_option("OUT", out_path, "output .tif")->required();
  pyramid->add_option("--tile-size", pyr_tile, "tile size (multiple of 16)")
      ->check(CLI::Range(16, 4096))
      ->capture_default_str();
  pyramid->add_option("--quality", pyr_quality, "JPEG quality")->check(CLI::Range(1, 100))->capture_default_str();
  pyramid->add_option("--jobs,-j", jobs, "worker threads")->check(CLI::Range(1, 256))->capture_default_str();

  reread::SyntheticSlideOptions synth_opts;
  synth_opts.jobs = jobs;
  std::int64_t width = 0, height = 0;
  auto* synth = app.add_subcommand("synth", "write a synthetic H&E slide as an Aperio SVS");
  synth->add_option("OUT", out_path, "output .svs")->required();
  synth->add_option("--width", width, "level-0 width in pixels")
      ->required()
      ->check(CLI::Range(std::int64_t{64}, std::int64_t{1'000'000}));
  synth->add_option("--height", height, "level-0 height in pixels")
      ->required()
      ->check(CLI::Range(std::int64_t{64}, std::int64_t{1'000'000}));
  synth->add_option("--seed", synth_opts.spec.seed, "random seed (same seed, same bytes)")->capture_default_str();
  synth->add_option("--mpp", synth_opts.spec.mpp, "microns per pixel (0.25 = 40x)")
      ->check(CLI::Range(0.05, 10.0))
      ->capture_default_str();
  synth->add_option("--quality", synth_opts.quality, "JPEG quality")->check(CLI::Range(1, 100))->capture_default_str();
  synth->add_option("--jobs,-j", synth_opts.jobs, "worker threads")->check(CLI::Range(1, 256))->capture_default_str();

  for (auto* cmd : {dzi, pyramid, synth})
    cmd->add_flag("--timings", timings, "print where the time went (JSON on stderr)");

  CLI11_PARSE(app, argc, argv);

  try {
    if (info->parsed()) {
      const auto slide = reread::open_slide(slide_path);
      std::cout << slide_info_json(slide->info()).dump(2) << "\n";
    } else if (dzi->parsed()) {
      const auto slide = reread::open_slide(slide_path);
      reread::DziOptions opts;
      opts.geometry = {tile_size, overlap, limit_bounds};
      opts.format = reread::parse_tile_format(format);
      opts.quality = quality;
      opts.jobs = jobs;
      if (name.empty()) name = std::filesystem::path(slide_path).stem().string();
      if (name.empty() || name.find('/') != std::string::npos)
        throw std::invalid_argument("--name must be a plain file name");
      const auto t = reread::write_dzi(*slide, out_path, name, opts, terminal_progress("dzi"));
      if (timings) print_times(t);
    } else if (pyramid->parsed()) {
      const auto slide = reread::open_slide(slide_path);
      const reread::SlideInfo& si = slide->info();
      reread::TiffPyramidOptions opts;
      opts.tile_size = pyr_tile;
      opts.quality = pyr_quality;
      opts.mpp_x = si.mpp_x;
      opts.mpp_y = si.mpp_y;
      if (si.mpp_x && si.mpp_y) {
        reread::AperioDescription aperio;
        aperio.app_mag = si.objective_power;
        aperio.scanner_id = "REREAD";
        aperio.filename = std::filesystem::path(slide_path).stem().string();
        opts.aperio = aperio;
      }
      reread::WorkPool pool(jobs);
      const auto t = reread::write_tiff_pyramid(
          si.level_dimensions.front(),
          [&](std::int64_t y, std::int64_t rows, std::uint8_t* dst, std::size_t stride) {
            reread::read_strip(*slide, 0, 0, si.level_dimensions.front().width, y, rows, dst, stride, pool);
          },
          pool, out_path, opts, {}, terminal_progress("pyramid"));
      if (timings) print_times(t);
    } else if (synth->parsed()) {
      synth_opts.spec.width = width;
      synth_opts.spec.height = height;
      const auto t = reread::write_synthetic_slide(out_path, synth_opts, terminal_progress("synth"));
      if (timings) print_times(t);
    }
  } catch (const std::exception& e) {
    std::cerr << "reread-tiler: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
